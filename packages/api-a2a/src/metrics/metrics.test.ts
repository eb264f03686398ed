import { Engine, LocalEventBus, MemoryStore, type TaskEvent, TaskFailure } from "@aipartnerupflow/core";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../app.js";
import { type ServerHandle, startServer } from "../server.js";
import { smallTree, testRegistry } from "../testing/fixtures.js";

/** One sample of the Prometheus text format: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find(
    (s) =>
      s.name === name &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v) &&
      (Object.keys(labels).length > 0 || Object.keys(s.labels).length === 0),
  )?.value;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(concurrency = 10): Promise<{ server: ServerHandle; engine: Engine }> {
  const registry = testRegistry();
  let calls = 0;
  registry.registerExecutor({
    id: "flaky",
    description: "fails its first attempt",
    execute: () => {
      calls++;
      if (calls === 1) throw new TaskFailure("FLAKY", "first attempt fails", { retryable: true });
      return { ok: true };
    },
  });
  const engine = new Engine({
    store: new MemoryStore(),
    registry,
    pollIntervalMs: 20,
    concurrency,
    cancelGraceMs: 500,
  });
  const app = createApp({ engine });
  const server = await startServer({ app, port: 0 });
  cleanups.push(async () => {
    await server.close();
    await engine.stop({ graceMs: 0 });
  });
  return { server, engine };
}

async function call(server: ServerHandle, method: string, params: unknown = {}): Promise<any> {
  const res = await fetch(`${server.url}/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: unknown };
  if (body.error) throw new Error(JSON.stringify(body.error));
  return body.result;
}

/** A node's bus (as NodeEventBus): `subscribe` also gets other nodes' events, `subscribeLocal` only its own. */
class NodeLikeBus {
  readonly all = new LocalEventBus();
  readonly local = new LocalEventBus();
  publish(events: readonly TaskEvent[]): void {
    this.local.publish(events);
    this.all.publish(events);
  }
  subscribe(listener: (e: TaskEvent) => void): () => void {
    return this.all.subscribe(listener);
  }
  subscribeLocal(listener: (e: TaskEvent) => void): () => void {
    return this.local.subscribe(listener);
  }
}

describe("GET /metrics", () => {
  it("counts only this node's own writes on a bus that carries other nodes' events (subscribeLocal)", async () => {
    const bus = new NodeLikeBus();
    const engine = new Engine({ store: new MemoryStore(), registry: testRegistry(), pollIntervalMs: 20, bus });
    const server = await startServer({ app: createApp({ engine }), port: 0 });
    cleanups.push(async () => {
      await server.close();
      await engine.stop({ graceMs: 0 });
    });
    const { rootId } = await call(server, "tasks.create", { tasks: smallTree() });
    expect((await call(server, "tasks.execute", { taskId: rootId, wait: true })).status).toBe("completed");
    // Another node's completions of the same tasks arrive on the shared channel only.
    const completed = (await engine.store.readEvents({ afterSeq: 0, limit: 100 })).filter(
      (e) => e.type === "task.completed",
    );
    bus.all.publish(completed.map((e, i) => ({ ...e, seq: 10_000 + i })));
    const s = parseProm(await (await fetch(`${server.url}/metrics`)).text());
    expect(value(s, "apflow_task_completions_total", { executor: "echo" })).toBe(2);
  });

  it("counts claims, completions, retries and durations per executor after running trees", async () => {
    const { server } = await setup();
    const { rootId } = await call(server, "tasks.create", { tasks: smallTree() });
    expect((await call(server, "tasks.execute", { taskId: rootId, wait: true })).status).toBe("completed");
    const flaky = await call(server, "tasks.create", {
      tasks: [
        {
          name: "f",
          params: { executorId: "flaky" },
          retry: { maxAttempts: 2, backoff: { type: "fixed", delayMs: 1 } },
        },
      ],
    });
    expect((await call(server, "tasks.execute", { taskId: flaky.rootId, wait: true })).status).toBe("completed");
    const boom = await call(server, "tasks.create", { tasks: [{ name: "b", params: { executorId: "boom" } }] });
    expect((await call(server, "tasks.execute", { taskId: boom.rootId, wait: true })).status).toBe("failed");

    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const s = parseProm(await res.text());
    expect(value(s, "apflow_task_claims_total", { executor: "echo" })).toBe(2);
    expect(value(s, "apflow_task_claims_total", { executor: "aggregate_results" })).toBe(1);
    expect(value(s, "apflow_task_claims_total", { executor: "flaky" })).toBe(2);
    expect(value(s, "apflow_task_completions_total", { executor: "echo" })).toBe(2);
    expect(value(s, "apflow_task_completions_total", { executor: "flaky" })).toBe(1);
    expect(value(s, "apflow_task_retries_total", { executor: "flaky" })).toBe(1);
    expect(value(s, "apflow_task_failures_total", { executor: "boom" })).toBe(1);
    expect(value(s, "apflow_tasks", { status: "completed" })).toBe(4);
    expect(value(s, "apflow_tasks", { status: "failed" })).toBe(1);
    expect(value(s, "apflow_tasks", { status: "pending" })).toBe(0);
    expect(value(s, "apflow_queue_ready_tasks")).toBe(0);
    expect(value(s, "apflow_queue_oldest_ready_age_seconds")).toBe(0);
    expect(value(s, "apflow_task_wait_seconds_count", { executor: "echo" })).toBe(2);
    expect(value(s, "apflow_task_wait_seconds_count", { executor: "flaky" })).toBe(2);
    expect(value(s, "apflow_task_run_seconds_count", { executor: "echo", outcome: "completed" })).toBe(2);
    expect(value(s, "apflow_task_run_seconds_count", { executor: "flaky", outcome: "retrying" })).toBe(1);
    expect(value(s, "apflow_task_run_seconds_count", { executor: "boom", outcome: "failed" })).toBe(1);
    expect(value(s, "apflow_task_run_seconds_bucket", { executor: "echo", outcome: "completed", le: "+Inf" })).toBe(2);

    // tasks.queue.stats: the same figures in JSON, its old fields kept.
    const stats = await call(server, "tasks.queue.stats");
    expect(stats.counts.completed).toBe(4);
    expect(stats.total).toBe(5);
    expect(stats.engine.concurrency).toBe(10);
    expect(stats.events).toEqual({
      claims: 6,
      completions: 4,
      failures: 1,
      retries: 1,
      cancellations: 0,
      leaseExpirations: 0,
    });
    expect(stats.queue).toMatchObject({ ready: 0, delayed: 0, byUser: [], byExecutor: [] });
    expect(stats.waitTime.find((w: { executorId: string }) => w.executorId === "echo").count).toBe(2);
    expect(stats.runTime.find((w: { executorId: string }) => w.executorId === "flaky").count).toBe(2);
  });

  it("counts schedule firings per schedule (a trigger here; a ticking scheduler reports through onFire)", async () => {
    const { server } = await setup();
    const schedule = await call(server, "schedules.create", {
      name: "nightly",
      tasks: [{ name: "n", params: { executorId: "echo" } }],
      trigger: { type: "interval", everyMs: 3_600_000 },
    });
    const fired = await call(server, "schedules.trigger", { scheduleId: schedule.id });
    await call(server, "schedules.trigger", { scheduleId: schedule.id });
    expect(fired.rootId).toBeTruthy();
    const s = parseProm(await (await fetch(`${server.url}/metrics`)).text());
    expect(value(s, "apflow_schedule_firings_total", { schedule: schedule.id })).toBe(2);
    const stats = await call(server, "tasks.queue.stats");
    expect(stats.scheduleFirings).toEqual([{ scheduleId: schedule.id, count: 2 }]);
  });

  it("shows the ready queue while every worker slot is busy, and tasks.get says why each task waits", async () => {
    const { server } = await setup(1);
    const tree = await call(server, "tasks.create", {
      tasks: [
        { name: "root", dependencies: ["w1", "w2", "after"] },
        { name: "w1", parentId: "root", params: { executorId: "wait" } },
        { name: "w2", parentId: "root", params: { executorId: "wait" } },
        { name: "after", parentId: "root", params: { executorId: "echo" }, dependencies: ["w1"] },
      ],
    });
    const ids = Object.fromEntries(tree.tasks.map((t: { name: string; id: string }) => [t.name, t.id]));
    const idle = await call(server, "tasks.create", { tasks: [{ name: "idle", params: { executorId: "echo" } }] });
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const timed = await call(server, "tasks.create", {
      tasks: [{ name: "timed", params: { executorId: "echo" }, runAt: later }],
    });

    const before = await call(server, "tasks.get", { taskId: idle.rootId });
    expect(before.waiting).toMatchObject({ reason: "not_executing", since: before.createdAt });

    await call(server, "tasks.execute", { taskId: tree.rootId });
    await call(server, "tasks.execute", { taskId: timed.rootId });
    // With one slot, one wait task runs and the other (and the root's group) wait for it.
    let running: string | undefined;
    for (let i = 0; i < 200 && !running; i++) {
      const tasks = (await call(server, "tasks.tree", { taskId: tree.rootId, format: "flat" })).tasks;
      running = tasks.find((t: { status: string }) => t.status === "in_progress")?.name;
      if (!running) await new Promise((r) => setTimeout(r, 10));
    }
    expect(["w1", "w2", "root"]).toContain(running);
    const res = await fetch(`${server.url}/metrics`);
    const s = parseProm(await res.text());
    const ready = value(s, "apflow_queue_ready_tasks") as number;
    expect(ready).toBeGreaterThanOrEqual(1);
    expect(value(s, "apflow_queue_delayed_tasks")).toBe(1);
    expect(value(s, "apflow_queue_ready_tasks_by_user", { user: "" })).toBe(ready);
    expect(value(s, "apflow_tasks", { status: "in_progress" })).toBe(1);

    const queuedName = running === "w1" ? "w2" : "w1";
    const queued = await call(server, "tasks.get", { taskId: ids[queuedName] });
    expect(queued.waiting).toMatchObject({ reason: "queued" });
    const after = await call(server, "tasks.get", { taskId: ids.after });
    expect(after.waiting.reason).toBe("dependencies");
    expect(after.waiting.dependencies.map((d: { name: string }) => d.name)).toEqual(["w1"]);
    const root = await call(server, "tasks.detail", { taskId: tree.rootId });
    expect(root.waiting.reason).toBe("dependencies");
    const t = await call(server, "tasks.get", { taskId: timed.rootId });
    expect(t.waiting).toMatchObject({ reason: "run_at", runAt: later });

    const stats = await call(server, "tasks.queue.stats");
    expect(stats.queue.ready).toBe(ready);
    expect(stats.queue.byExecutor.map((g: { executorId: string | null }) => g.executorId)).toContain("wait");
    await call(server, "tasks.cancel", { taskId: tree.rootId });
    await call(server, "tasks.cancel", { taskId: timed.rootId });
  });

  it("counts limit-blocked tasks per rule (gauge and tasks.queue.stats), as tasks.get names the limit", async () => {
    const { server, engine } = await setup(10);
    await call(server, "limits.set", { scope: "executor", key: "wait", maxRunning: 1 });
    const roots: string[] = [];
    for (const name of ["w1", "w2", "w3"]) {
      const t = await call(server, "tasks.create", { tasks: [{ name, params: { executorId: "wait" } }] });
      roots.push(t.rootId);
      await call(server, "tasks.execute", { taskId: t.rootId });
    }
    await expect.poll(async () => (await engine.store.countByStatus()).in_progress, { timeout: 20_000 }).toBe(1);
    const s = parseProm(await (await fetch(`${server.url}/metrics`)).text());
    expect(value(s, "apflow_queue_limit_blocked_tasks", { scope: "executor", key: "wait" })).toBe(2);
    const stats = await call(server, "tasks.queue.stats");
    expect(stats.queue.limitBlocked).toEqual([{ scope: "executor", key: "wait", blocked: 2 }]);
    const pending = [];
    for (const id of roots) {
      const t = await call(server, "tasks.get", { taskId: id });
      if (t.status === "pending") pending.push(t.waiting);
    }
    expect(pending).toHaveLength(2);
    for (const w of pending) expect(w).toMatchObject({ reason: "limit", scope: "executor", ruleKey: "wait" });
    // The rule gone, nothing is held back: the gauge's series disappears.
    await call(server, "limits.delete", { scope: "executor", key: "wait" });
    for (const id of roots) await call(server, "tasks.cancel", { taskId: id });
    const after = parseProm(await (await fetch(`${server.url}/metrics`)).text());
    expect(value(after, "apflow_queue_limit_blocked_tasks", { scope: "executor", key: "wait" })).toBeUndefined();
  });

  it("serves every metric the README lists, and the README lists every metric served", async () => {
    const { server } = await setup();
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const row = readme.split("\n").find((l) => l.startsWith("| `GET /metrics`"));
    expect(row, "README: the GET /metrics row").toBeDefined();
    const documented = new Set(
      [...(row as string).matchAll(/`(apflow_[a-z_]+)(?:\{[a-z,]*\})?`/g)].map((m) => m[1] as string),
    );
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const served = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));
    expect(served.has("apflow_schedule_firings_total")).toBe(true);
    expect([...documented].sort()).toEqual([...served].sort());
  });

  it("tasks.get says retry_backoff while a failed attempt waits out its backoff", async () => {
    const { server } = await setup();
    const created = await call(server, "tasks.create", {
      tasks: [
        {
          name: "f",
          params: { executorId: "flaky" },
          retry: { maxAttempts: 2, backoff: { type: "fixed", delayMs: 600_000 } },
        },
      ],
    });
    await call(server, "tasks.execute", { taskId: created.rootId });
    let task: any;
    for (let i = 0; i < 500; i++) {
      task = await call(server, "tasks.get", { taskId: created.rootId });
      if (task.status === "pending" && task.attempt === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(task.waiting).toMatchObject({
      reason: "retry_backoff",
      attempt: 1,
      errorCode: "FLAKY",
      retryAt: task.runAt,
    });
    const detail = await call(server, "tasks.detail", { taskId: created.rootId });
    expect(detail.waiting.since).toBe(detail.attempts[0].endedAt);
    const s = parseProm(await (await fetch(`${server.url}/metrics`)).text());
    expect(value(s, "apflow_queue_delayed_tasks")).toBe(1);
    expect(value(s, "apflow_task_retries_total", { executor: "flaky" })).toBe(1);
    await call(server, "tasks.cancel", { taskId: created.rootId });
  });

  it("is for admins when auth is on", async () => {
    const engine = new Engine({ store: new MemoryStore(), registry: testRegistry(), pollIntervalMs: 50 });
    const { createToken } = await import("../auth/token.js");
    const secret = "a-test-secret-that-is-long-enough-123456";
    const app = createApp({ engine, auth: { jwtSecret: secret } });
    cleanups.push(() => engine.stop({ graceMs: 0 }));
    expect((await app.request("/metrics")).status).toBe(401);
    const user = await createToken({ secret, sub: "alice" });
    expect((await app.request("/metrics", { headers: { authorization: `Bearer ${user}` } })).status).toBe(403);
    const admin = await createToken({ secret, sub: "root", roles: ["admin"] });
    const ok = await app.request("/metrics", { headers: { authorization: `Bearer ${admin}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("apflow_queue_ready_tasks 0");
  });
});
