import { expect } from "vitest";
import { ApflowError, ErrorCode, LeaseLostError } from "../../errors.js";
import { nodeState } from "../../nodes/state.js";
import type { NodeRegistration, NodeStore } from "../../nodes/types.js";
import type { TaskStore } from "../../store/types.js";
import { readWaiting } from "../../task/waiting-read.js";
import type { Task } from "../../types.js";
import { describeFacetContract, type FacetContractOptions } from "./facet-suite.js";
import { at, create, LEASE, start, T0 } from "./support.js";

/**
 * The contract of the node registry (`store.nodes`): records written and read back exactly,
 * heartbeats, drain, deregistration, the derived states, handing back a dead node's leases (the
 * reclaim rules then apply as for an expired lease, and its late writes stay fenced) and node
 * events. Checks take a fresh, empty store.
 */
export interface NodeStoreCheck {
  name: string;
  run(store: TaskStore): Promise<void>;
}

function facet(store: TaskStore): NodeStore {
  const nodes = store.nodes;
  if (!nodes) throw new Error("this store has no node registry (store.nodes)");
  return nodes;
}

export const registration = (nodeId: string, over: Partial<NodeRegistration> = {}): NodeRegistration => ({
  nodeId,
  host: "host-1",
  pid: 4242,
  version: "1.2.3",
  executors: ["sleep", "échec ✓"],
  tags: ["gpu", "eu"],
  cpu: 8,
  memory: 17_179_869_184,
  concurrency: 10,
  heartbeatMs: 1000,
  deadAfterMs: 10_000,
  ...over,
});

export const nodeStoreContractChecks: NodeStoreCheck[] = [
  {
    name: "nodes: a registration reads back exactly; a missing node is null; list is by start then id",
    async run(store) {
      const f = facet(store);
      expect(await f.get("n1")).toBeNull();
      const r = await f.register(registration("n2"), T0);
      expect(r).toEqual({
        ...registration("n2"),
        running: 0,
        load: 0,
        startedAt: T0,
        heartbeatAt: T0,
        draining: false,
        handedBackAt: null,
        wakeups: null,
      });
      expect(await f.get("n2")).toEqual(r);
      await f.register(registration("n1", { tags: [], executors: [], concurrency: 0 }), T0);
      await f.register(registration("n0"), at(5));
      expect((await f.list()).map((n) => n.nodeId)).toEqual(["n1", "n2", "n0"]);
      expect((await f.get("n1"))?.concurrency).toBe(0);
    },
  },
  {
    name: "nodes: heartbeat records the wake-up status; a beat without one keeps it; registering again clears it",
    async run(store) {
      const f = facet(store);
      await f.register(registration("n1"), T0);
      const up = { transport: "redis", connected: true, since: at(5) };
      expect((await f.heartbeat("n1", { running: 0, load: 0, wakeups: up }, at(10)))?.wakeups).toEqual(up);
      expect((await f.get("n1"))?.wakeups).toEqual(up);
      expect((await f.heartbeat("n1", { running: 1, load: 0 }, at(20)))?.wakeups).toEqual(up);
      const down = { transport: "redis", connected: false, since: at(25) };
      await f.heartbeat("n1", { running: 1, load: 0, wakeups: down }, at(30));
      expect((await f.list()).find((n) => n.nodeId === "n1")?.wakeups).toEqual(down);
      expect((await f.register(registration("n1"), at(40))).wakeups).toBeNull();
    },
  },
  {
    name: "nodes: heartbeat records running and load and clears the hand-back mark; an unknown node gets null",
    async run(store) {
      const f = facet(store);
      expect(await f.heartbeat("ghost", { running: 1, load: 0.5 }, T0)).toBeNull();
      await f.register(registration("n1"), T0);
      expect(await f.markHandedBack("n1", at(10))).toBe(true);
      expect((await f.get("n1"))?.handedBackAt).toEqual(at(10));
      const beat = await f.heartbeat("n1", { running: 3, load: 0.25 }, at(1000));
      expect(beat).toMatchObject({ running: 3, load: 0.25, heartbeatAt: at(1000), startedAt: T0, handedBackAt: null });
      expect(await f.get("n1")).toEqual(beat);
      expect(await f.markHandedBack("ghost", at(10))).toBe(false);
    },
  },
  {
    name: "nodes: registering again replaces the record (a restart), drain is cleared",
    async run(store) {
      const f = facet(store);
      await f.register(registration("n1"), T0);
      await f.drain("n1", true);
      const again = await f.register(registration("n1", { pid: 7, tags: ["new"] }), at(50));
      expect(again).toMatchObject({ pid: 7, tags: ["new"], startedAt: at(50), draining: false });
      expect(await f.list()).toHaveLength(1);
    },
  },
  {
    name: "nodes: drain sets and clears the flag; deregister removes the node",
    async run(store) {
      const f = facet(store);
      expect(await f.drain("ghost", true)).toBeNull();
      await f.register(registration("n1"), T0);
      expect((await f.drain("n1", true))?.draining).toBe(true);
      expect((await f.heartbeat("n1", { running: 0, load: 0 }, at(1)))?.draining).toBe(true);
      expect((await f.drain("n1", false))?.draining).toBe(false);
      expect(await f.deregister("n1")).toBe(true);
      expect(await f.deregister("n1")).toBe(false);
      expect(await f.get("n1")).toBeNull();
    },
  },
  {
    name: "nodes: states are derived from the record at a time: idle, active, overloaded, draining, stale, dead",
    async run(store) {
      const f = facet(store);
      await f.register(registration("n1", { heartbeatMs: 1000, deadAfterMs: 10_000 }), T0);
      const idle = await f.heartbeat("n1", { running: 0, load: 0.2 }, T0);
      expect(nodeState(idle as never, at(500))).toBe("idle");
      const busy = await f.heartbeat("n1", { running: 2, load: 0.2 }, T0);
      expect(nodeState(busy as never, at(3000))).toBe("active");
      expect(nodeState(busy as never, at(3001))).toBe("stale");
      expect(nodeState(busy as never, at(10_000))).toBe("stale");
      expect(nodeState(busy as never, at(10_001))).toBe("dead");
      const hot = await f.heartbeat("n1", { running: 2, load: 4 }, T0);
      expect(nodeState(hot as never, at(1))).toBe("overloaded");
      const draining = await f.drain("n1", true);
      expect(nodeState(draining as never, at(1))).toBe("draining");
      expect(nodeState(draining as never, at(20_000))).toBe("dead");
    },
  },
  {
    name: "nodes: a registration that cannot work is refused, naming the field",
    async run(store) {
      const f = facet(store);
      for (const [over, field] of [
        [{ nodeId: "" }, "nodeId"],
        [{ concurrency: -1 }, "concurrency"],
        [{ heartbeatMs: 0 }, "heartbeatMs"],
        [{ heartbeatMs: 1000, deadAfterMs: 3000 }, "deadAfterMs"],
      ] as const) {
        const err = await f.register(registration("n1", over), T0).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ApflowError);
        expect((err as ApflowError).code).toBe(ErrorCode.InvalidParams);
        expect((err as ApflowError).message).toContain(field);
      }
      expect(await f.list()).toEqual([]);
    },
  },
  {
    name: "nodes: expireLeases hands back only the owner's running tasks; reclaim applies the rules; late writes stay refused",
    async run(store) {
      const f = facet(store);
      const tasks = await create(store, [
        { name: "root", dependencies: ["a", "b", "c"] },
        { name: "a", parentId: "root" },
        { name: "b", parentId: "root" },
        { name: "c", parentId: "root", retry: { maxAttempts: 1 } },
      ]);
      const id = (name: string) => (tasks.get(name) as Task).id;
      await start(store, id("root"));
      const dead = (await store.claimReady({ owner: "dead-node", limit: 1, leaseMs: LEASE, now: T0 })).claimed;
      const alive = (await store.claimReady({ owner: "live-node", limit: 1, leaseMs: LEASE, now: T0 })).claimed;
      const deadToo = (await store.claimReady({ owner: "dead-node", limit: 1, leaseMs: LEASE, now: T0 })).claimed;
      const deadIds = [...dead, ...deadToo].map((c) => c.task.id);
      expect(deadIds).toHaveLength(2);
      expect(await f.expireLeases("nobody", at(100))).toEqual([]);
      expect((await f.expireLeases("dead-node", at(100))).sort()).toEqual([...deadIds].sort());
      const reclaimed = await store.reclaimExpired(at(100));
      expect(reclaimed.tasks.map((t) => t.id).sort()).toEqual([...deadIds].sort());
      // c has a policy of one attempt: the rules fail it; the other goes back to pending.
      for (const t of reclaimed.tasks) {
        expect(t.status).toBe(t.id === id("c") ? "failed" : "pending");
        expect(t.error?.code).toBe("LEASE_EXPIRED");
      }
      expect((await store.getTask((alive[0] as { task: Task }).task.id))?.status).toBe("in_progress");
      const late = dead[0] as { task: Task; leaseToken: string };
      await expect(
        store.finishTask(late.task.id, late.leaseToken, { status: "completed", result: "late" }, at(200)),
      ).rejects.toBeInstanceOf(LeaseLostError);
      const attempts = await store.getAttempts(late.task.id);
      expect(attempts.at(-1)).toMatchObject({ owner: "dead-node", status: "failed" });
    },
  },
  {
    name: "nodes: why-waiting says no_capable_node while no live node that claims has the executor",
    async run(store) {
      const f = facet(store);
      const tasks = await create(store, [
        { name: "root", dependencies: ["gpu"] },
        { name: "gpu", parentId: "root", schemas: { method: "render" } },
      ]);
      const gpu = tasks.get("gpu") as Task;
      await start(store, (tasks.get("root") as Task).id);
      const why = async (now: Date) => readWaiting(store, (await store.getTask(gpu.id)) as Task, now);
      // No node registered: not known, queued.
      expect(await why(at(1))).toMatchObject({ reason: "queued" });
      // A producer (concurrency 0) and a worker without the executor.
      await f.register(registration("producer", { executors: [], concurrency: 0 }), T0);
      await f.register(registration("cpu", { executors: ["sleep"] }), T0);
      expect(await why(at(1))).toMatchObject({ reason: "no_capable_node", executor: "render" });
      // A worker that has it: queued; draining or dead, it does not count.
      await f.register(registration("gpu-1", { executors: ["render"] }), T0);
      expect(await why(at(1))).toMatchObject({ reason: "queued" });
      await f.drain("gpu-1", true);
      expect(await why(at(1))).toMatchObject({ reason: "no_capable_node" });
      await f.drain("gpu-1", false);
      expect(await why(at(10_001))).toMatchObject({ reason: "no_capable_node" });
      // The root (no executor: a grouping task) waits for its dependency, never for a node.
      expect(
        await readWaiting(store, (await store.getTask((tasks.get("root") as Task).id)) as Task, at(1)),
      ).toMatchObject({
        reason: "dependencies",
      });
    },
  },
  {
    name: "nodes: events are appended in seq order and listed after a seq, by type and node",
    async run(store) {
      const f = facet(store);
      const e1 = await f.appendEvent({ type: "coordinator.elected", nodeId: "n1", at: T0, detail: { previous: null } });
      const e2 = await f.appendEvent({
        type: "node.dead",
        nodeId: "n2",
        at: at(1),
        detail: { lastHeartbeatAt: T0.toISOString(), tasks: ["t1", "t2"] },
      });
      await f.appendEvent({ type: "coordinator.elected", nodeId: "n3", at: at(2), detail: { previous: "n1" } });
      expect(e2.seq).toBeGreaterThan(e1.seq);
      const all = await f.listEvents();
      expect(all.map((e) => [e.type, e.nodeId])).toEqual([
        ["coordinator.elected", "n1"],
        ["node.dead", "n2"],
        ["coordinator.elected", "n3"],
      ]);
      expect(all[1]).toEqual(e2);
      expect((await f.listEvents({ afterSeq: e1.seq })).map((e) => e.nodeId)).toEqual(["n2", "n3"]);
      expect((await f.listEvents({ type: "coordinator.elected" })).map((e) => e.nodeId)).toEqual(["n1", "n3"]);
      expect((await f.listEvents({ nodeId: "n3" })).map((e) => e.detail)).toEqual([{ previous: "n1" }]);
      expect(await f.listEvents({ limit: 1 })).toHaveLength(1);
      expect(
        (await f.listEvents({ type: "coordinator.elected", newestFirst: true, limit: 1 })).map((e) => e.nodeId),
      ).toEqual(["n3"]);
      expect((await f.listEvents({ newestFirst: true })).map((e) => e.nodeId)).toEqual(["n3", "n2", "n1"]);
    },
  },
];

/** Run the node registry's contract as a vitest suite; every check gets a fresh store. */
export function describeNodeStoreContract(
  name: string,
  createStore: () => Promise<TaskStore> | TaskStore,
  options: FacetContractOptions = {},
): void {
  describeFacetContract(`NodeStore contract: ${name}`, nodeStoreContractChecks, createStore, options, (s) => s);
}
