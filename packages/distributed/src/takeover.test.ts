import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
    const workers = ["w1", "w2", "w3"].map((id) => track(worker((db as TestDatabase).url, id, { env })));
    const server = await producer(db.url);
    track(server.proc);
    await expect
      .poll(async () => (await server.call<{ nodes: { nodeId: string }[] }>("nodes.list", {})).nodes.length)
      .toBe(4);

    const created = await server.call<{ rootId: string; tasks: unknown[] }>("tasks.create", {
      tasks: chainedTree(1000, 20, (i) => 20 + (i % 5) * 10),
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
          const holders = (await db?.query<{ owner: string }>(
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
    const attempts = await db.query<{ task_id: string; attempt: number; owner: string; status: string; started_at: Date }>(
      "SELECT a.task_id, a.attempt, a.owner, a.status, a.started_at FROM attempts a JOIN tasks t ON t.id = a.task_id WHERE t.root_id = $1 ORDER BY a.task_id, a.attempt",
      [created.rootId],
    );
    const retried = attempts.filter((a) => a.attempt > 1);
    const lostByKilled = new Set(attempts.filter((a) => a.owner === killed.name && a.status !== "completed").map((a) => a.task_id));
    for (const r of retried) expect(lostByKilled.has(r.task_id), `task ${r.task_id} ran again`).toBe(true);
    expect(retried.length).toBeGreaterThan(0);
    for (const id of inFlight) if (!lostByKilled.has(id)) expect.soft(id, "in flight at the kill, finished first").toBeTruthy();
    // Takeover: the killed node's tasks ran again within lease + 1 s of the kill (deadAfterMs << lease).
    const rerunAt = Math.min(...retried.map((r) => new Date(r.started_at).getTime()));
    const firstRerunMs = rerunAt - killedAt;
    const allDoneMs = Math.max(...tasks.map((t) => new Date(t.completed_at).getTime())) - killedAt;
    expect(firstRerunMs).toBeLessThanOrEqual(FAST.leaseMs + 1000);
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
        `tasks re-run ${retried.length} (in flight on the killed node: ${lostByKilled.size}); ` +
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
      .poll(async () => (await server.call<{ nodes: unknown[] }>("nodes.list", {})).nodes.length)
      .toBe(3);
    const created = await server.call<{ rootId: string }>("tasks.create", {
      tasks: [{ name: "long", schemas: { method: "nap" }, inputs: { ms: 3000 } }],
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
    // Past its lease, then it wakes up: its executor returns, its write is refused.
    await new Promise((r) => setTimeout(r, Math.max(0, FAST.leaseMs + 500 - tookOverMs)));
    stopped.signal("SIGCONT");
    await expect.poll(() => /late write refused|lease lost/.test(stopped.output), { timeout: 20_000 }).toBe(true);
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
});
