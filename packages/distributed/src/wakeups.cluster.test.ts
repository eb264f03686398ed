import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import {
  CLI_BIN,
  createDatabase,
  migrate,
  type Proc,
  postgresReachable,
  producer,
  run,
  SERVER_MAIN,
  type TestDatabase,
  worker,
} from "./test-support/cluster.js";

// The wake-ups through the real binaries, with their defaults (APFLOW_WAKEUPS unset: LISTEN/NOTIFY
// on the PostgreSQL store): a producer-only apps/server and one `apflow worker` whose store poll
// is 10 minutes, so that every pickup within the test's time comes from a notification.
const reachable = await postgresReachable();
if (!reachable && process.env.CI) throw new Error("PostgreSQL is not reachable and CI is set");
const built = existsSync(CLI_BIN) && existsSync(SERVER_MAIN);
if (!built && process.env.CI) throw new Error("build first: the tests start packages/cli/dist and apps/server/dist");

const NO_POLL = { leaseMs: 8000, heartbeatMs: 300, deadAfterMs: 3000, pollMs: 600_000 };
const STARTUP = { timeout: 60_000, interval: 100 };

const procs: Proc[] = [];
let db: TestDatabase | undefined;
afterEach(async () => {
  for (const p of procs.splice(0)) {
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

/** A root waiting for a chain of naps (each on the one before). */
function chain(ms: number[]): Record<string, unknown>[] {
  const tasks = ms.map((n, i) => ({
    name: `c${i}`,
    parentId: "root",
    schemas: { method: "nap" },
    inputs: { ms: n },
    dependencies: i > 0 ? [`c${i - 1}`] : [],
  }));
  return [
    { name: "root", schemas: { method: "nap" }, inputs: { ms: 1 }, dependencies: [`c${ms.length - 1}`] },
    ...tasks,
  ];
}

/** The events of a JSON-RPC SSE stream until `tree.finished`. */
async function readStream(res: Response): Promise<{ type: string; taskId: string }[]> {
  expect(res.headers.get("content-type") ?? "").toContain("text/event-stream");
  const events: { type: string; taskId: string }[] = [];
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    let end = text.indexOf("\n\n");
    while (end !== -1) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      end = text.indexOf("\n\n");
      const name = /^event: (.*)$/m.exec(block)?.[1];
      const data = block
        .split("\n")
        .filter((l) => l.startsWith("data: "))
        .map((l) => l.slice(6))
        .join("\n");
      if (!data || name === "execution") continue;
      const e = JSON.parse(data) as { type: string; taskId: string };
      events.push(e);
      if (e.type === "tree.finished") return events;
    }
  }
  return events;
}

describe.skipIf(!reachable || !built)("wake-ups through the real binaries (PostgreSQL LISTEN/NOTIFY)", () => {
  it("a producer-only server's submitted tree starts on a worker that never polls, and the producer's streams see the worker's events", {
    timeout: 180_000,
  }, async () => {
    db = await createDatabase();
    await migrate(db.url);
    const w = track(worker(db.url, "w1", { timings: NO_POLL, concurrency: 4 }));
    const server = await producer(db.url, { timings: NO_POLL });
    track(server.proc);
    // Started (not only registered): its first claim, at start, is behind it.
    await expect.poll(() => w.output, STARTUP).toContain("Ctrl-C stops it");
    expect(w.output).toContain("wake-ups postgres");
    const nodes = await server.call<{ nodes: { nodeId: string }[] }>("nodes.list", {});
    expect(nodes.nodes.map((n) => n.nodeId).sort()).toEqual(["producer", "w1"]);

    // 1. Submitted on the producer, streamed from the producer, run by the worker.
    const first = await server.call<{ rootId: string }>("tasks.create", { tasks: chain([50, 50, 50]) });
    const res = await fetch(`${server.url}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tasks.execute",
        params: { taskId: first.rootId, stream: true },
      }),
    });
    const events = await readStream(res);
    const completed = events.filter((e) => e.type === "task.completed").map((e) => e.taskId);
    expect(new Set(completed).size).toBe(4);
    expect(events.at(-1)?.type).toBe("tree.finished");
    const byWorker = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM attempts a JOIN tasks t ON t.id = a.task_id WHERE t.root_id = $1 AND a.owner = 'w1' AND a.status = 'completed'",
      [first.rootId],
    );
    expect(Number(byWorker[0]?.n)).toBe(4);

    // 2. The worker idle again: a second tree, followed by `apflow tasks watch` against the producer.
    const second = await server.call<{ rootId: string }>("tasks.create", { tasks: chain([6000, 50]) });
    await server.call("tasks.execute", { taskId: second.rootId });
    const watch = track(run("watch", [CLI_BIN, "--server", server.url, "tasks", "watch", second.rootId, "--json"], {}));
    expect(await watch.exited).toBe(0);
    const watched = watch.output
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { type: string; taskId: string });
    expect(watched.filter((e) => e.type === "task.completed").length).toBeGreaterThanOrEqual(2);
    expect(watched.at(-1)?.type).toBe("tree.finished");
    const status = await db.query<{ status: string }>("SELECT status FROM executions WHERE root_id = $1", [
      second.rootId,
    ]);
    expect(status[0]?.status).toBe("completed");
  });
});
