import { existsSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import {
  CLI_BIN,
  createDatabase,
  migrate,
  type NodeTimings,
  type Proc,
  postgresReachable,
  producer,
  SERVER_MAIN,
  type TestDatabase,
  worker,
} from "./test-support/cluster.js";

// Placement with real processes on the real PostgreSQL: `apflow worker` nodes and a producer-only
// apps/server whose APFLOW_PLACEMENT places the executions it starts (built first: `pnpm build`).
const reachable = await postgresReachable();
if (!reachable && process.env.CI) throw new Error("PostgreSQL is not reachable and CI is set");
const built = existsSync(CLI_BIN) && existsSync(SERVER_MAIN);
if (!built && process.env.CI) throw new Error("build first: the tests start packages/cli/dist and apps/server/dist");

// Beats far enough apart that a loaded machine does not make a live node look stale (a node
// holds its placed tasks for 3 beats after its last one); slots enough that none fills up.
const PLACE: NodeTimings = { leaseMs: 6000, heartbeatMs: 500, deadAfterMs: 4000, pollMs: 200 };
const SLOTS = 32;
const STARTUP = { timeout: 60_000, interval: 100 };
/** States of a node placement may choose (overloaded: the machine's load is high, it still runs work). */
const LIVE = new Set(["idle", "active", "overloaded"]);

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

type Call = Awaited<ReturnType<typeof producer>>["call"];

/** A fresh database, `workers` (id → extra worker args) and a producer placing with `env`. */
async function cluster(workers: Record<string, string[]>, env: Record<string, string>) {
  db = await createDatabase();
  await migrate(db.url);
  const url = db.url;
  const procsById = new Map<string, Proc>();
  for (const [id, args] of Object.entries(workers)) {
    const p = worker(url, id, { timings: PLACE, concurrency: SLOTS, args });
    procs.push(p);
    procsById.set(id, p);
  }
  const server = await producer(url, { timings: PLACE, env });
  procs.push(server.proc);
  // Every worker registered and heartbeating (the producer reads the registry when it starts an execution).
  const deadline = Date.now() + STARTUP.timeout;
  for (;;) {
    const { nodes } = await server.call<{ nodes: { nodeId: string; state: string }[] }>("nodes.list", {});
    if (nodes.filter((n) => procsById.has(n.nodeId) && LIVE.has(n.state)).length === procsById.size) break;
    if (Date.now() > deadline) {
      const states = nodes.map((n) => `${n.nodeId}:${n.state}`).join(", ");
      const outputs = [...procsById.values()].map((p) => `${p.name} (exit ${p.exitCode}): ${p.output}`).join("\n");
      throw new Error(`the workers are not all live: ${states}\n${outputs}`);
    }
    await new Promise((r) => setTimeout(r, STARTUP.interval));
  }
  return { call: server.call, workers: procsById, db };
}

async function start(call: Call, tasks: Record<string, unknown>[]): Promise<string> {
  const { rootId } = await call<{ rootId: string }>("tasks.create", { tasks });
  await call("tasks.execute", { taskId: rootId });
  return rootId;
}

async function finished(rootId: string, timeout = 60_000): Promise<void> {
  await expect
    .poll(
      async () => {
        const rows = await db?.query<{ status: string }>("SELECT status FROM executions WHERE root_id = $1", [rootId]);
        return rows?.[0]?.status;
      },
      { timeout, interval: 100 },
    )
    .toBe("completed");
}

interface Ran {
  name: string;
  placedOn: string | null;
  /** Owners of its attempts, in order. */
  owners: string[];
}

/** Each task of the tree by name: where it was placed and which nodes ran it. */
async function ranBy(rootId: string): Promise<Map<string, Ran>> {
  const rows = await (db as TestDatabase).query<{ name: string; placed_on: string | null; owner: string | null }>(
    `SELECT t.name, t.placed_on, a.owner FROM tasks t LEFT JOIN attempts a ON a.task_id = t.id
     WHERE t.root_id = $1 ORDER BY t.name, a.attempt`,
    [rootId],
  );
  const out = new Map<string, Ran>();
  for (const r of rows) {
    const ran = out.get(r.name) ?? { name: r.name, placedOn: r.placed_on, owners: [] };
    if (r.owner) ran.owners.push(r.owner);
    out.set(r.name, ran);
  }
  return out;
}

const nap = (name: string, over: Record<string, unknown> = {}) => ({
  name,
  schemas: { method: "nap" },
  inputs: { ms: 20 },
  ...over,
});

describe.skipIf(!reachable || !built)("placement across nodes (real processes, PostgreSQL)", () => {
  it("round-robin by sub-tree: each branch of 10 runs on one node, the 3 branches on 3 nodes", {
    timeout: 180_000,
  }, async () => {
    const { call } = await cluster(
      { w1: [], w2: [], w3: [] },
      { APFLOW_PLACEMENT: "round-robin", APFLOW_PLACEMENT_GRANULARITY: "subtree" },
    );
    const tasks: Record<string, unknown>[] = [{ name: "root" }];
    for (const b of ["a", "b", "c"]) {
      tasks.push(nap(b, { parentId: "root" }));
      for (let i = 1; i < 10; i++) tasks.push(nap(`${b}${i}`, { parentId: b }));
    }
    const rootId = await start(call, tasks);
    await finished(rootId);
    const ran = await ranBy(rootId);
    const branchNodes = ["a", "b", "c"].map((b) => {
      const members = [...ran.values()].filter((t) => t.name === b || new RegExp(`^${b}\\d$`).test(t.name));
      expect(members).toHaveLength(10);
      const placed = new Set(members.map((t) => t.placedOn));
      const owners = new Set(members.flatMap((t) => t.owners));
      expect(placed.size, `branch ${b} placed on ${[...placed].join(", ")}`).toBe(1);
      expect(owners, `branch ${b} ran on ${[...owners].join(", ")}`).toEqual(placed);
      return [...owners][0];
    });
    // The root took the first turn (w1), then the branches w2, w3, w1.
    expect(ran.get("root")?.placedOn).toBe("w1");
    expect(branchNodes).toEqual(["w2", "w3", "w1"]);
  });

  it("affinity: a chain of 10 follows its dependencies onto one node", { timeout: 180_000 }, async () => {
    const { call } = await cluster({ w1: [], w2: [], w3: [] }, { APFLOW_PLACEMENT: "affinity" });
    const tasks: Record<string, unknown>[] = [{ name: "root" }];
    for (let i = 0; i < 10; i++)
      tasks.push(nap(`c${i}`, { parentId: "root", dependencies: i > 0 ? [`c${i - 1}`] : [] }));
    const rootId = await start(call, tasks);
    await finished(rootId);
    const ran = await ranBy(rootId);
    const chain = [...ran.values()].filter((t) => t.name.startsWith("c"));
    expect(chain).toHaveLength(10);
    const owners = new Set(chain.flatMap((t) => t.owners));
    expect(owners.size, `the chain ran on ${[...owners].join(", ")}`).toBe(1);
    const [node] = [...owners];
    // c0 had no dependency to follow; each later link was placed where the one before completed.
    expect(chain.filter((t) => t.name !== "c0").every((t) => t.placedOn === node)).toBe(true);
  });

  it("resource tags: tasks preferring gpu run on the gpu node; tasks requiring it are never claimed elsewhere", {
    timeout: 180_000,
  }, async () => {
    const { call } = await cluster({ w1: ["--tags", "gpu"], w2: [], w3: [] }, { APFLOW_PLACEMENT: "least-loaded" });
    const tasks: Record<string, unknown>[] = [{ name: "root" }];
    for (let i = 0; i < 6; i++) {
      tasks.push(nap(`prefers${i}`, { parentId: "root", placement: { prefers: ["gpu"] } }));
      tasks.push(nap(`requires${i}`, { parentId: "root", placement: { requires: ["gpu"] } }));
      tasks.push(nap(`plain${i}`, { parentId: "root" }));
    }
    const rootId = await start(call, tasks);
    await finished(rootId);
    const ran = await ranBy(rootId);
    const of = (prefix: string) => [...ran.values()].filter((t) => t.name.startsWith(prefix));
    for (const t of of("prefers")) {
      expect(t.placedOn).toBe("w1");
      expect(t.owners).toEqual(["w1"]);
    }
    for (const t of of("requires")) expect(t.owners, t.name).toEqual(["w1"]);
    // Least-loaded spreads the rest: the two nodes without the tag were placed on too.
    const plainNodes = new Set(of("plain").map((t) => t.placedOn));
    expect(plainNodes.has("w2") || plainNodes.has("w3")).toBe(true);
  });

  it("a node killed with SIGKILL: the tasks placed on it run elsewhere (never stranded)", {
    timeout: 180_000,
  }, async () => {
    const { call, workers } = await cluster(
      { w1: [], w2: [] },
      { APFLOW_PLACEMENT: "round-robin", APFLOW_PLACEMENT_GRANULARITY: "root" },
    );
    // The whole tree is placed on w1 (the first turn); its chain runs there until w1 is killed.
    const tasks: Record<string, unknown>[] = [{ name: "root" }];
    for (let i = 0; i < 6; i++)
      tasks.push(nap(`c${i}`, { parentId: "root", inputs: { ms: 300 }, dependencies: i > 0 ? [`c${i - 1}`] : [] }));
    const rootId = await start(call, tasks);
    await expect
      .poll(
        async () => {
          const rows = await (db as TestDatabase).query<{ n: string }>(
            "SELECT count(*) AS n FROM tasks WHERE root_id = $1 AND name LIKE 'c%' AND status = 'completed'",
            [rootId],
          );
          return Number(rows[0]?.n ?? 0);
        },
        { timeout: 60_000, interval: 20 },
      )
      .toBeGreaterThanOrEqual(2);
    const w1 = workers.get("w1") as Proc;
    w1.signal("SIGKILL");
    await w1.exited;
    await finished(rootId);
    const ran = await ranBy(rootId);
    const chain = [...ran.values()].filter((t) => t.name.startsWith("c"));
    expect(chain.every((t) => t.placedOn === "w1")).toBe(true);
    expect(ran.get("c0")?.owners).toEqual(["w1"]);
    // The last links could only run once w1 stopped holding them: on w2.
    expect(ran.get("c5")?.owners).toEqual(["w2"]);
    const lastOwners = chain.map((t) => t.owners.at(-1));
    expect(lastOwners.filter((o) => o === "w2").length).toBeGreaterThanOrEqual(3);
  });
});
