import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type NewTask, validateTasks } from "@aipartnerupflow/core";
import { createPrismaStore } from "@aipartnerupflow/storage-prisma";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  CLI_BIN,
  createDatabase,
  FAST,
  migrate,
  type Proc,
  postgresReachable,
  producer,
  SERVER_MAIN,
  type TestDatabase,
  worker,
} from "./test-support/cluster.js";

// Real processes on the real PostgreSQL: `apflow worker` nodes and a producer-only apps/server
// (built first: `pnpm build`). Every test gets its own database.
const reachable = await postgresReachable();
if (!reachable && process.env.CI) throw new Error("PostgreSQL is not reachable and CI is set");
const built = existsSync(CLI_BIN) && existsSync(SERVER_MAIN);
if (!built && process.env.CI) throw new Error("build first: the tests start packages/cli/dist and apps/server/dist");

// The kill test's timings: a lease long enough that handing back after deadAfterMs is visibly
// sooner, beats far enough apart that a loaded machine does not make a live node look dead.
const KILL = { leaseMs: 8000, heartbeatMs: 300, deadAfterMs: 3000, pollMs: 200 };

/** Processes starting on a loaded machine: a generous wait for them to register. */
const STARTUP = { timeout: 60_000, interval: 100 };

const procs: Proc[] = [];
let db: TestDatabase | undefined;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "apflow-nodes-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.signal("SIGCONT");
    p.signal("SIGKILL");
    await p.exited;
  }
  await db?.drop();
  db = undefined;
});

const track = (p: Proc): Proc => {
  procs.push(p);
  return p;
};

/** A tree of `n` tasks: the root waits for `width` chains of `nap` tasks (each on the one before). */
function chainedTree(n: number, width: number, ms: (i: number) => number): Record<string, unknown>[] {
  const tasks: Record<string, unknown>[] = [];
  const last: string[] = [];
  for (let i = 0; i < n - 1; i++) {
    tasks.push({
      name: `t${i}`,
      parentId: "root",
      schemas: { method: "nap" },
      inputs: { ms: ms(i) },
      dependencies: i >= width ? [`t${i - width}`] : [],
    });
    if (i >= n - 1 - width) last.push(`t${i}`);
  }
  return [{ name: "root", schemas: { method: "nap" }, inputs: { ms: 1 }, dependencies: last }, ...tasks];
}

async function waitFinished(rootId: string, timeout = 120_000): Promise<string> {
  let status = "running";
  await expect
    .poll(
      async () => {
        const rows = await db?.query<{ status: string }>("SELECT status FROM executions WHERE root_id = $1", [rootId]);
        status = rows?.[0]?.status ?? "missing";
        return status;
      },
      { timeout, interval: 200 },
    )
    .not.toBe("running");
  return status;
}

const runLog = (file: string): Map<string, string[]> => {
  const runs = new Map<string, string[]>();
  if (!existsSync(file)) return runs;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [taskId, node] = line.split(" ");
    if (!taskId || !node) continue;
    runs.set(taskId, [...(runs.get(taskId) ?? []), node]);
  }
  return runs;
};

describe.skipIf(!reachable || !built)("many nodes on one PostgreSQL (real processes)", () => {
  it("SIGKILL one of 3 workers mid-run: every task terminal, none lost, none completed twice, takeover within lease + 1 s", {
    timeout: 240_000,
  }, async () => {
    db = await createDatabase();
    await migrate(db.url);
    const log = join(dir, "kill-runs.log");
    const env = { APFLOW_TEST_RUN_LOG: log };
    const workers = ["w1", "w2", "w3"].map((id) => track(worker((db as TestDatabase).url, id, { env, timings: KILL })));
    const server = await producer(db.url, { timings: KILL });
    track(server.proc);
    await expect
      .poll(async () => (await server.call<{ nodes: { nodeId: string }[] }>("nodes.list", {})).nodes.length, STARTUP)
      .toBe(4);

    const created = await server.call<{ rootId: string; tasks: unknown[] }>("tasks.create", {
      tasks: chainedTree(1000, 30, (i) => 30 + (i % 5) * 10),
    });
    expect(created.tasks).toHaveLength(1000);
    const started = Date.now();
    await server.call("tasks.execute", { taskId: created.rootId });

    // Mid-run: kill a worker that holds leases right now.
    let victim: Proc | undefined;
    await expect
      .poll(
        async () => {
          const [done] = (await db?.query<{ n: string }>(
            "SELECT count(*) AS n FROM tasks WHERE root_id = $1 AND status = 'completed'",
            [created.rootId],
          )) ?? [{ n: "0" }];
          if (Number(done?.n) < 300) return false;
          const holders =
            (await db?.query<{ owner: string }>(
              "SELECT lease_owner AS owner FROM tasks WHERE status = 'in_progress' AND lease_owner LIKE 'w%' GROUP BY lease_owner ORDER BY count(*) DESC",
            )) ?? [];
          victim = workers.find((w) => w.name === holders[0]?.owner);
          return victim !== undefined;
        },
        { timeout: 120_000, interval: 20 },
      )
      .toBe(true);
    const killed = victim as Proc;
    const inFlight = (
      await db.query<{ id: string }>("SELECT id FROM tasks WHERE status = 'in_progress' AND lease_owner = $1", [
        killed.name,
      ])
    ).map((r) => r.id);
    killed.signal("SIGKILL");
    const killedAt = Date.now();
    await killed.exited;

    expect(await waitFinished(created.rootId)).toBe("completed");
    const tasks = await db.query<{ id: string; status: string; completed_at: Date }>(
      "SELECT id, status, completed_at FROM tasks WHERE root_id = $1",
      [created.rootId],
    );
    expect(tasks).toHaveLength(1000);
    expect(tasks.filter((t) => t.status !== "completed")).toEqual([]);
    // None completed twice: exactly one task.completed event per task.
    const completions = await db.query<{ task_id: string; n: string }>(
      "SELECT task_id, count(*) AS n FROM events WHERE type = 'task.completed' AND root_id = $1 GROUP BY task_id",
      [created.rootId],
    );
    expect(completions).toHaveLength(1000);
    expect(completions.filter((c) => Number(c.n) !== 1)).toEqual([]);
    // Executions repeated only for tasks the killed node held.
    const attempts = await db.query<{
      task_id: string;
      attempt: number;
      owner: string;
      status: string;
      started_at: Date;
    }>(
      "SELECT a.task_id, a.attempt, a.owner, a.status, a.started_at FROM attempts a JOIN tasks t ON t.id = a.task_id WHERE t.root_id = $1 ORDER BY a.task_id, a.attempt",
      [created.rootId],
    );
    const retried = attempts.filter((a) => a.attempt > 1);
    const lostByKilled = new Set(
      attempts.filter((a) => a.owner === killed.name && a.status !== "completed").map((a) => a.task_id),
    );
    for (const r of retried) {
      const history = attempts.filter((a) => a.task_id === r.task_id).map((a) => `${a.owner}:${a.status}`);
      expect(lostByKilled.has(r.task_id), `task ${r.task_id} ran again: ${history.join(", ")}`).toBe(true);
    }
    expect(retried.length).toBeGreaterThan(0);
    // Takeover: the killed node's tasks ran again within lease + 1 s of the kill (deadAfterMs << lease).
    const rerunAt = Math.min(...retried.map((r) => new Date(r.started_at).getTime()));
    const firstRerunMs = rerunAt - killedAt;
    const allDoneMs = Math.max(...tasks.map((t) => new Date(t.completed_at).getTime())) - killedAt;
    expect(firstRerunMs).toBeLessThanOrEqual(KILL.leaseMs + 1000);
    const runs = runLog(log);
    const ranTwice = [...runs.values()].filter((r) => r.length > 1).length;
    const dead = await db.query<{ detail: string }>(
      "SELECT detail FROM node_events WHERE type = 'node.dead' AND node_id = $1",
      [killed.name],
    );
    expect(dead).toHaveLength(1);
    console.log(
      `[kill test] 1000 tasks, 3 workers + producer; run ${killedAt - started} ms before the kill; ` +
        `kill -> first re-run ${firstRerunMs} ms; kill -> all done ${allDoneMs} ms; ` +
        `tasks re-run ${retried.length} (in flight on the killed node at the kill: ${inFlight.length}, its attempts lost: ${lostByKilled.size}); ` +
        `executors that returned twice ${ranTwice}; dead node found by: ${JSON.parse(dead[0]?.detail ?? "{}").reason}`,
    );
  });

  it("a partitioned worker (SIGSTOP past its lease, then SIGCONT) has its late writes refused", {
    timeout: 120_000,
  }, async () => {
    db = await createDatabase();
    await migrate(db.url);
    const a = track(worker(db.url, "pa"));
    const b = track(worker(db.url, "pb"));
    const server = await producer(db.url);
    track(server.proc);
    await expect
      .poll(async () => (await server.call<{ nodes: unknown[] }>("nodes.list", {})).nodes.length, STARTUP)
      .toBe(3);
    const created = await server.call<{ rootId: string }>("tasks.create", {
      tasks: [{ name: "long", schemas: { method: "spin" }, inputs: { ms: 1000 } }],
    });
    await server.call("tasks.execute", { taskId: created.rootId });
    let owner = "";
    await expect
      .poll(async () => {
        const [row] = await (db as TestDatabase).query<{ lease_owner: string | null }>(
          "SELECT lease_owner FROM tasks WHERE id = $1",
          [created.rootId],
        );
        owner = row?.lease_owner ?? "";
        return owner;
      })
      .toMatch(/^p[ab]$/);
    const stopped = owner === "pa" ? a : b;
    const other = stopped === a ? b : a;
    stopped.signal("SIGSTOP");
    const stoppedAt = Date.now();
    // The other node (coordinator or not) finds it dead after deadAfterMs and runs the task.
    await waitFinished(created.rootId);
    const [task] = await db.query<{ status: string; result: { by: string } }>(
      "SELECT status, result FROM tasks WHERE id = $1",
      [created.rootId],
    );
    expect(task).toMatchObject({ status: "completed", result: { by: other.name } });
    const tookOverMs = Date.now() - stoppedAt;
    const [rerun] = await db.query<{ started_at: Date }>(
      "SELECT started_at FROM attempts WHERE task_id = $1 AND attempt = 2",
      [created.rootId],
    );
    console.log(
      `[partition test] SIGSTOP -> re-run elsewhere ${new Date(rerun?.started_at ?? 0).getTime() - stoppedAt} ms, ` +
        `-> completed elsewhere ${tookOverMs} ms (heartbeat ${FAST.heartbeatMs} ms, deadAfterMs ${FAST.deadAfterMs}, lease ${FAST.leaseMs})`,
    );
    // Past its lease, then it wakes up inside the executor: it returns at once and its outcome's
    // write, fenced by the old lease token, is refused.
    await new Promise((r) => setTimeout(r, Math.max(0, FAST.leaseMs + 500 - tookOverMs)));
    stopped.signal("SIGCONT");
    await expect.poll(() => /late write refused/.test(stopped.output), { timeout: 20_000 }).toBe(true);
    // ... and recorded as an event of the node that made it.
    await expect
      .poll(async () =>
        (
          await (db as TestDatabase).query<{ node_id: string; detail: string }>(
            "SELECT node_id, detail FROM node_events WHERE type = 'node.late_write_refused'",
          )
        ).map((e) => [e.node_id, JSON.parse(e.detail).taskId]),
      )
      .toEqual([[stopped.name, created.rootId]]);
    const completions = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM events WHERE type = 'task.completed' AND task_id = $1",
      [created.rootId],
    );
    expect(Number(completions[0]?.n)).toBe(1);
    const [after] = await db.query<{ result: { by: string } }>("SELECT result FROM tasks WHERE id = $1", [
      created.rootId,
    ]);
    expect(after?.result.by).toBe(other.name);
    const attempts = await db.query<{ owner: string; status: string }>(
      "SELECT owner, status FROM attempts WHERE task_id = $1 ORDER BY attempt",
      [created.rootId],
    );
    expect(attempts).toEqual([
      { owner: stopped.name, status: "failed" },
      { owner: other.name, status: "completed" },
    ]);
    const handedBack = await db.query<{ detail: string }>(
      "SELECT detail FROM node_events WHERE type = 'node.dead' AND node_id = $1",
      [stopped.name],
    );
    expect(JSON.parse(handedBack[0]?.detail ?? "{}").reason).toBe("no heartbeat");
    // Woken up, it heartbeats again and is alive in the registry.
    await expect
      .poll(async () => (await server.call<{ state: string }>("nodes.get", { nodeId: stopped.name })).state)
      .toMatch(/idle|active|overloaded/);
  });

  it("a stalled coordinator (SIGSTOP, its session alive) is evicted: another node takes over, it steps down", {
    timeout: 120_000,
  }, async () => {
    db = await createDatabase();
    await migrate(db.url);
    const elected = async () =>
      (
        await (db as TestDatabase).query<{ node_id: string; detail: string }>(
          "SELECT node_id, detail FROM node_events WHERE type = 'coordinator.elected' ORDER BY seq",
        )
      ).map((r) => [r.node_id, JSON.parse(r.detail).previous]);
    const first = track(worker(db.url, "c1"));
    await expect.poll(elected).toEqual([["c1", null]]);
    const second = track(worker(db.url, "c2"));
    await expect.poll(async () => (await (db as TestDatabase).query("SELECT 1 FROM nodes")).length).toBe(2);
    first.signal("SIGSTOP");
    await expect.poll(elected, { timeout: 30_000 }).toEqual([
      ["c1", null],
      ["c2", "c1"],
    ]);
    first.signal("SIGCONT");
    await expect.poll(() => /lost the coordinator role/.test(first.output), { timeout: 20_000 }).toBe(true);
    expect(second.output).toMatch(/evicted a dead coordinator/);
    // c1 is alive again (heartbeating) and stays a follower: no third election.
    await expect
      .poll(
        async () =>
          (
            await (db as TestDatabase).query<{ n: string }>(
              "SELECT count(*) AS n FROM nodes WHERE handed_back_at IS NULL",
            )
          )[0]?.n,
      )
      .toBe("2");
    expect(await elected()).toHaveLength(2);
  });

  it("SIGTERM: the worker stops claiming, finishes what it runs within the grace, deregisters and exits 0", {
    timeout: 120_000,
  }, async () => {
    db = await createDatabase();
    await migrate(db.url);
    const w = track(worker(db.url, "graceful", { concurrency: 2 }));
    const server = await producer(db.url);
    track(server.proc);
    await expect
      .poll(async () => (await server.call<{ nodes: unknown[] }>("nodes.list", {})).nodes.length, STARTUP)
      .toBe(2);
    const created = await server.call<{ rootId: string; tasks: { id: string; name: string }[] }>("tasks.create", {
      tasks: [
        { name: "root", schemas: { method: "nap" }, inputs: { ms: 1 }, dependencies: ["slow"] },
        { name: "slow", parentId: "root", schemas: { method: "nap" }, inputs: { ms: 1200 } },
      ],
    });
    const slow = created.tasks.find((t) => t.name === "slow")?.id as string;
    await server.call("tasks.execute", { taskId: created.rootId });
    await expect
      .poll(
        async () =>
          (await (db as TestDatabase).query<{ status: string }>("SELECT status FROM tasks WHERE id = $1", [slow]))[0]
            ?.status,
      )
      .toBe("in_progress");
    w.signal("SIGTERM");
    expect(await w.exited).toBe(0);
    // It finished the running task, claimed nothing after the signal (the root stays pending).
    const rows = await db.query<{ id: string; status: string; lease_owner: string | null }>(
      "SELECT id, status, lease_owner FROM tasks WHERE root_id = $1",
      [created.rootId],
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.status, r.lease_owner]]))).toEqual({
      [slow]: ["completed", null],
      [created.rootId]: ["pending", null],
    });
    expect((await server.call<{ nodes: { nodeId: string }[] }>("nodes.list", {})).nodes.map((n) => n.nodeId)).toEqual([
      "producer",
    ]);
    // (It may have been the coordinator; a loaded machine may delay a beat past 3 heartbeats:
    // "node.stale" may appear, never "node.dead".)
    const events = (
      await db.query<{ type: string }>("SELECT type FROM node_events WHERE node_id = 'graceful' ORDER BY seq")
    ).map((e) => e.type);
    expect(events[0]).toBe("node.registered");
    expect(events.at(-1)).toBe("node.deregistered");
    expect(events).not.toContain("node.dead");
  });

  it("a node without an executor never claims its tasks", { timeout: 120_000 }, async () => {
    db = await createDatabase();
    await migrate(db.url);
    // The executor filter is the claim's own (`ClaimOptions.executors`): checked on the store first.
    expect(await claimFiltersExecutors(db.url)).toBe(true);
    const lacking = track(worker(db.url, "plain"));
    const server = await producer(db.url);
    track(server.proc);
    await expect
      .poll(async () => (await server.call<{ nodes: unknown[] }>("nodes.list", {})).nodes.length, STARTUP)
      .toBe(2);
    const special = await server.call<{ rootId: string }>("tasks.create", {
      tasks: [{ name: "needs-special", schemas: { method: "special" }, inputs: { ms: 1 } }],
    });
    const plain = await server.call<{ rootId: string }>("tasks.create", {
      tasks: [{ name: "plain", schemas: { method: "nap" }, inputs: { ms: 1 } }],
    });
    await server.call("tasks.execute", { taskId: special.rootId });
    await server.call("tasks.execute", { taskId: plain.rootId });
    // The plain task ran (the worker claims), the special one was never touched.
    expect(await waitFinished(plain.rootId)).toBe("completed");
    const none = await db.query("SELECT * FROM attempts WHERE task_id = $1", [special.rootId]);
    expect(none).toEqual([]);
    const capable = track(worker(db.url, "special", { env: { APFLOW_TEST_SPECIAL: "1" } }));
    expect(await waitFinished(special.rootId)).toBe("completed");
    const owners = await db.query<{ owner: string }>("SELECT owner FROM attempts WHERE task_id = $1", [special.rootId]);
    expect(owners).toEqual([{ owner: capable.name }]);
    expect(lacking.output).not.toMatch(/EXECUTOR_NOT_FOUND/);
  });
});

/** Whether the store's claim honours `ClaimOptions.executors` (probed on a scratch task). */
async function claimFiltersExecutors(url: string): Promise<boolean> {
  const store = await createPrismaStore({ url });
  try {
    const now = new Date();
    const [tree] = validateTasks([{ id: "probe", name: "probe", schemas: { method: "probe-only" } }], { now });
    await store.createTasks(tree as NewTask[], now);
    await store.startExecution({ taskId: "probe", now });
    const { claimed } = await store.claimReady({ owner: "probe", limit: 1, leaseMs: 1000, now, executors: ["other"] });
    await store.deleteTask("probe").catch(() => undefined);
    return claimed.length === 0;
  } finally {
    await store.close();
  }
}
