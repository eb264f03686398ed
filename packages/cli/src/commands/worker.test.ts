import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseJson, runCli, spawnCli, tempDir } from "../test-util/cli.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const cli = (...args: string[]) => runCli(args, { cwd: dir });

interface NodeJson {
  nodeId: string;
  state: string;
  executors: string[];
  tags: string[];
  concurrency: number;
  draining: boolean;
  wakeups: { transport: string; connected: boolean; since: string } | null;
}

describe("apflow worker and apflow nodes on the local store", () => {
  it("an idle worker registers, stays up, is drained, and deregisters on SIGTERM", { timeout: 60_000 }, async () => {
    const worker = spawnCli(
      [
        "worker",
        "--node-id",
        "w-1",
        "--tags",
        "gpu,eu",
        "--executors",
        "aggregate_results,system_info",
        "--concurrency",
        "3",
        "--heartbeat-ms",
        "100",
        "--log-level",
        "warn",
      ],
      { cwd: dir },
    );
    await expect
      .poll(
        async () => parseJson<{ nodes: NodeJson[] }>(await cli("nodes", "list", "--json")).nodes.map((n) => n.nodeId),
        {
          timeout: 20_000,
          interval: 200,
        },
      )
      .toEqual(["w-1"]);
    const node = parseJson<NodeJson>(await cli("nodes", "get", "w-1", "--json"));
    expect(node).toMatchObject({ tags: ["gpu", "eu"], concurrency: 3, draining: false });
    expect(node.executors.sort()).toEqual(["aggregate_results", "system_info"]);
    // On SQLite no wake-up transport: the worker finds work at its poll.
    expect(node.wakeups).toMatchObject({ transport: "polling", connected: true });
    const table = await cli("nodes", "list");
    expect(table.stdout).toMatch(/w-1\s+(idle|overloaded)/);
    expect(table.stdout).toContain("wake-ups");
    expect((await cli("nodes", "get", "w-1")).stdout).toMatch(/wake-ups polling since /);
    expect((await cli("nodes", "drain", "w-1")).stdout).toContain("draining");
    expect(parseJson<NodeJson>(await cli("nodes", "get", "w-1", "--json")).state).toBe("draining");
    const refused = await cli("nodes", "requeue", "w-1");
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("requeue only a dead or stale node");
    const missing = await cli("nodes", "get", "nope");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("node not found: nope");
    worker.kill("SIGTERM");
    expect((await worker.done).code).toBe(0);
    expect(parseJson<{ nodes: NodeJson[] }>(await cli("nodes", "list", "--json")).nodes).toEqual([]);
    const events = await cli("nodes", "events");
    expect(events.stdout).toMatch(/node\.registered\s+w-1/);
    expect(events.stdout).toMatch(/node\.drain\s+w-1/);
    expect(events.stdout).toMatch(/node\.deregistered\s+w-1/);
  });

  it("refuses an --executors entry no plugin provides, naming it", async () => {
    const r = await cli("worker", "--executors", "nope,system_info");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("nope");
  });

  it("refuses an unknown --wakeups transport, naming APFLOW_WAKEUPS; postgres needs a PostgreSQL store", async () => {
    const r = await cli("worker", "--wakeups", "kafka://x");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("APFLOW_WAKEUPS");
    const pg = await cli("worker", "--wakeups", "postgres");
    expect(pg.code).toBe(2);
    expect(pg.stderr).toMatch(/needs the store on PostgreSQL/);
  });

  it("refuses an unknown --placement or APFLOW_PLACEMENT(_GRANULARITY), naming it", async () => {
    const flag = await cli("worker", "--placement", "spread");
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--placement must be one of capability, round-robin, least-loaded, affinity/);
    const env = await runCli(["worker"], { cwd: dir, env: { APFLOW_PLACEMENT: "spread" } });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain("APFLOW_PLACEMENT must be one of");
    const unit = await runCli(["worker"], { cwd: dir, env: { APFLOW_PLACEMENT_GRANULARITY: "leaf" } });
    expect(unit.code).toBe(2);
    expect(unit.stderr).toContain("APFLOW_PLACEMENT_GRANULARITY must be one of task, subtree, root");
    const choice = await cli("worker", "--placement-granularity", "leaf");
    expect(choice.code).not.toBe(0);
    expect(choice.stderr).toContain("--placement-granularity");
  });

  it("requeue of an owner that is not registered hands back nothing and says so", async () => {
    const r = await cli("nodes", "requeue", "host:1:gone", "--json");
    expect(r.code).toBe(0);
    expect(parseJson(r)).toEqual({ nodeId: "host:1:gone", state: null, tasks: [] });
  });
});
