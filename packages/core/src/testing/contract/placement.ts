import { expect } from "vitest";
import { ApflowError, ErrorCode } from "../../errors.js";
import { limitsOf } from "../../limits/types.js";
import type { NodeRegistration, NodeStore } from "../../nodes/types.js";
import type { ExecutionPlacement } from "../../placement/types.js";
import type { ClaimedTask, ClaimOptions, TaskStore } from "../../store/types.js";
import { readWaiting } from "../../task/waiting-read.js";
import { validateTasks } from "../../tree/validate.js";
import type { NewTask, Task } from "../../types.js";
import { at, create, expectCode, family, LEASE, names, T0 } from "./support.js";

/**
 * The claim's placement rule (store/rules.ts, docs/semantics.md#placement): required tags, tasks
 * placed on a node that holds them (registered, heartbeating, not draining, a free slot), the
 * placement of an execution (`assign`, re-runs clearing it, `followDependencies`), and placement
 * together with limits.
 */

function registry(store: TaskStore): NodeStore {
  if (!store.nodes) throw new Error("this store has no node registry (store.nodes)");
  return store.nodes;
}

const node = (nodeId: string, over: Partial<NodeRegistration> = {}): NodeRegistration => ({
  nodeId,
  host: "host-1",
  pid: 1,
  version: "1.0.0",
  executors: [],
  tags: [],
  cpu: 2,
  memory: 1_000_000,
  concurrency: 2,
  heartbeatMs: 1000,
  deadAfterMs: 10_000,
  ...over,
});

async function claim(
  store: TaskStore,
  owner: string,
  options: Partial<ClaimOptions> = {},
  now = T0,
): Promise<ClaimedTask[]> {
  return (await store.claimReady({ owner, limit: 100, leaseMs: LEASE, now, ...options })).claimed;
}

const complete = (store: TaskStore, c: ClaimedTask, now = T0) =>
  store.finishTask(c.task.id, c.leaseToken, { status: "completed", result: null }, now);

async function startPlaced(store: TaskStore, taskId: string, placement: ExecutionPlacement, rerun?: "all") {
  const request: Parameters<TaskStore["startExecution"]>[0] = { taskId, placement, now: T0 };
  if (rerun) request.rerun = rerun;
  return (await store.startExecution(request)).execution;
}

/** A tree of one root with children `names`; returns tasks by name. */
async function flat(store: TaskStore, children: string[]): Promise<Map<string, Task>> {
  return create(store, [
    { name: "root", dependencies: children },
    ...children.map((name) => ({ name, parentId: "root" })),
  ]);
}

const id = (tasks: Map<string, Task>, name: string) => (tasks.get(name) as Task).id;

export const placementChecks = family("placement", [
  {
    name: "placement: a task is claimed only by a node holding every tag it requires; prefers is soft",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["gpu", "plain", "soft"] },
        { name: "gpu", parentId: "root", placement: { requires: ["gpu", "eu"] } },
        { name: "plain", parentId: "root" },
        { name: "soft", parentId: "root", placement: { prefers: ["cache"] } },
      ]);
      expect(tasks.get("gpu")?.placement).toEqual({ requires: ["gpu", "eu"] });
      expect((await store.getTask(id(tasks, "soft")))?.placement).toEqual({ prefers: ["cache"] });
      expect((await store.getTask(id(tasks, "plain")))?.placement).toBeNull();
      await store.startExecution({ taskId: id(tasks, "root"), now: T0 });
      // No tags: only tasks that require none.
      expect(names(await claim(store, "bare")).sort()).toEqual(["plain", "soft"]);
      // Some of the tags only: still not.
      expect(await claim(store, "half", { tags: ["gpu"] })).toEqual([]);
      const [gpu] = await claim(store, "full", { tags: ["cpu", "eu", "gpu"] });
      expect(gpu?.task.name).toBe("gpu");
      expect(gpu?.task.placement).toEqual({ requires: ["gpu", "eu"] });
    },
  },
  {
    name: "placement: a task placed on a node that holds it is left alone by the others, taken by that node",
    async run(store) {
      const nodes = registry(store);
      await nodes.register(node("node-b"), T0);
      const tasks = await flat(store, ["a", "free"]);
      await startPlaced(store, id(tasks, "root"), { assign: { [id(tasks, "a")]: "node-b" } });
      expect((await store.getTask(id(tasks, "a")))?.placedOn).toBe("node-b");
      expect((await store.getTask(id(tasks, "free")))?.placedOn).toBeNull();
      expect(names(await claim(store, "node-a", {}, at(500)))).toEqual(["free"]);
      const [a] = await claim(store, "node-b", {}, at(500));
      expect(a?.task.name).toBe("a");
      expect(a?.task.placedOn).toBe("node-b");
    },
  },
  {
    name: "placement: a placed task goes to any node once its node stops holding it (stale, draining, full, unregistered)",
    async run(store) {
      const nodes = registry(store);
      const tasks = await flat(store, ["stale", "draining", "full", "ghost"]);
      await nodes.register(node("n-stale"), T0);
      await nodes.register(node("n-draining"), at(2500));
      await nodes.register(node("n-full", { concurrency: 1 }), at(2500));
      await startPlaced(store, id(tasks, "root"), {
        assign: {
          [id(tasks, "stale")]: "n-stale",
          [id(tasks, "draining")]: "n-draining",
          [id(tasks, "full")]: "n-full",
          [id(tasks, "ghost")]: "n-ghost",
        },
      });
      // At 2.9 s every registered node holds its task (the stale one beat 3 beats ago, at most).
      expect(names(await claim(store, "other", {}, at(2900)))).toEqual(["ghost"]);
      // At 3.1 s the first node missed three beats: its task is free.
      expect(names(await claim(store, "other", {}, at(3100)))).toEqual(["stale"]);
      await nodes.drain("n-draining", true);
      expect(names(await claim(store, "other", {}, at(3200)))).toEqual(["draining"]);
      // A node that reported a full house at its last beat does not hold either.
      expect(await nodes.heartbeat("n-full", { running: 1, load: 0 }, at(3300))).not.toBeNull();
      expect(names(await claim(store, "other", {}, at(3400)))).toEqual(["full"]);
    },
  },
  {
    name: "placement: assign names only tasks of the tree (refused before anything is written); a re-run clears it",
    async run(store) {
      const tasks = await flat(store, ["a", "b"]);
      const err = await startPlaced(store, id(tasks, "root"), { assign: { nowhere: "node-b" } }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApflowError);
      expect((err as ApflowError).code).toBe(ErrorCode.InvalidTask);
      expect((err as ApflowError).message).toContain("nowhere");
      await expectCode(
        startPlaced(store, id(tasks, "root"), { assign: { [id(tasks, "a")]: "" } }),
        ErrorCode.InvalidParams,
      );
      expect(await store.listExecutions({ rootId: id(tasks, "root") })).toEqual([]);

      await registry(store).register(node("node-b"), T0);
      await startPlaced(store, id(tasks, "root"), {
        assign: { [id(tasks, "a")]: "node-b", [id(tasks, "b")]: "node-b" },
      });
      const claimed = await claim(store, "node-b", {}, at(10));
      expect(names(claimed).sort()).toEqual(["a", "b"]);
      for (const c of claimed) await complete(store, c, at(20));
      const [root] = await claim(store, "node-b", {}, at(30));
      await complete(store, root as ClaimedTask, at(40));
      // Re-run everything: preferences of the earlier execution are gone, the new one's written.
      await startPlaced(store, id(tasks, "root"), { assign: { [id(tasks, "b")]: "node-c" } }, "all");
      expect((await store.getTask(id(tasks, "a")))?.placedOn).toBeNull();
      expect((await store.getTask(id(tasks, "b")))?.placedOn).toBe("node-c");
      // node-b holds nothing now: node-a takes a (no preference) and b (node-c is not registered).
      expect(names(await claim(store, "node-a", {}, at(60))).sort()).toEqual(["a", "b"]);
    },
  },
  {
    name: "placement: followDependencies places a dependent on the node that completed its dependency",
    async run(store) {
      const nodes = registry(store);
      await nodes.register(node("node-x", { concurrency: 5 }), T0);
      const tasks = await create(store, [
        { name: "root", dependencies: ["c", "e"] },
        { name: "a", parentId: "root" },
        { name: "b", parentId: "root", dependencies: ["a"] },
        { name: "c", parentId: "root", dependencies: ["b"] },
        { name: "d", parentId: "root" },
        { name: "e", parentId: "root", dependencies: ["d"] },
        { name: "x", parentId: "root" },
      ]);
      await startPlaced(store, id(tasks, "root"), {
        followDependencies: true,
        assign: { [id(tasks, "e")]: "node-y" },
      });
      const first = await claim(store, "node-x", {}, at(1));
      expect(names(first).sort()).toEqual(["a", "d", "x"]);
      const lease = (name: string) => (first.find((c) => c.task.name === name) as ClaimedTask).leaseToken;
      const outcome = { status: "completed" as const, result: null };
      // One completion through finishTask, the others through finishTasks where the store has it.
      await store.finishTask(id(tasks, "a"), lease("a"), outcome, at(2));
      expect((await store.getTask(id(tasks, "b")))?.placedOn).toBe("node-x");
      const d = { taskId: id(tasks, "d"), leaseToken: lease("d"), outcome };
      if (store.finishTasks) await store.finishTasks([d], at(3));
      else await store.finishTask(d.taskId, d.leaseToken, outcome, at(3));
      // e was assigned: its preference stands.
      expect((await store.getTask(id(tasks, "e")))?.placedOn).toBe("node-y");
      // node-x holds b: another node leaves it alone; node-x takes it and, completing it, gets c.
      expect(await claim(store, "node-z", { tags: [] }, at(4)).then(names)).toEqual(["e"]);
      const [b] = await claim(store, "node-x", {}, at(5));
      expect(b?.task.name).toBe("b");
      const batch = { taskId: id(tasks, "b"), leaseToken: (b as ClaimedTask).leaseToken, outcome };
      // A batch that mixes a completion with another outcome (a separate path on some stores).
      const failed = { status: "failed" as const, error: { code: "X", message: "x" } };
      const x = { taskId: id(tasks, "x"), leaseToken: lease("x"), outcome: failed };
      if (store.finishTasks) await store.finishTasks([batch, x], at(6));
      else {
        await complete(store, b as ClaimedTask, at(6));
        await store.finishTask(x.taskId, x.leaseToken, failed, at(6));
      }
      expect((await store.getTask(id(tasks, "c")))?.placedOn).toBe("node-x");
      // Without followDependencies nothing is stamped.
      const plain = await create(store, [
        { name: "root", dependencies: ["q"] },
        { name: "p", parentId: "root" },
        { name: "q", parentId: "root", dependencies: ["p"] },
      ]);
      await store.startExecution({ taskId: id(plain, "root"), now: at(7) });
      const p = (await claim(store, "node-x", {}, at(8))).find((c) => c.task.name === "p");
      await complete(store, p as ClaimedTask, at(9));
      expect((await store.getTask(id(plain, "q")))?.placedOn).toBeNull();
    },
  },
  {
    name: "placement: a submission's placement is written with its trees (submitTrees where the store has it)",
    async run(store) {
      const [tree] = validateTasks(
        [
          { id: "s-root", name: "root", dependencies: ["s-a", "s-b"] },
          { id: "s-a", name: "a", parentId: "s-root" },
          { id: "s-b", name: "b", parentId: "s-root", dependencies: ["s-a"] },
        ],
        { now: T0 },
      );
      const tasks = tree as NewTask[];
      const submit = async (placement: ExecutionPlacement, executionId: string, list = tasks) => {
        const starts = [{ rootId: "s-root", executionId, placement }];
        if (store.submitTrees) return store.submitTrees(list, starts, T0);
        await store.createTasks(list, T0);
        return store.startExecution({ taskId: "s-root", executionId, placement, now: T0 });
      };
      // Naming a task outside the tree is refused; with submitTrees nothing is stored.
      const refused = await submit({ assign: { elsewhere: "n1" } }, "s-e0").then(
        () => null,
        (e: unknown) => e,
      );
      expect((refused as ApflowError).code).toBe(ErrorCode.InvalidTask);
      expect((refused as ApflowError).message).toContain("elsewhere");
      if (store.submitTrees) expect(await store.getTask("s-root")).toBeNull();
      else await store.deleteTask("s-root");
      await submit({ assign: { "s-a": "n1" }, followDependencies: true }, "s-e1");
      expect((await store.getTask("s-a"))?.placedOn).toBe("n1");
      expect((await store.getTask("s-b"))?.placedOn).toBeNull();
      const [a] = await claim(store, "n2", {}, at(1));
      expect(a?.task.id).toBe("s-a");
      await complete(store, a as ClaimedTask, at(2));
      // b follows its dependency to the node that completed it.
      expect((await store.getTask("s-b"))?.placedOn).toBe("n2");
    },
  },
  {
    name: "placement: why-waiting names the missing tags (no_capable_node) and the node holding a placed task",
    async run(store) {
      await registry(store).register(node("cpu", { executors: ["render"], tags: ["eu"] }), T0);
      const tasks = await create(store, [
        { name: "root", dependencies: ["gpu", "placed"] },
        { name: "gpu", parentId: "root", schemas: { method: "render" }, placement: { requires: ["gpu", "eu"] } },
        { name: "placed", parentId: "root", schemas: { method: "render" } },
      ]);
      await startPlaced(store, id(tasks, "root"), { assign: { [id(tasks, "placed")]: "cpu" } });
      const why = async (name: string, now: Date) =>
        readWaiting(store, (await store.getTask(id(tasks, name))) as Task, now);
      expect(await why("gpu", at(1))).toMatchObject({
        reason: "no_capable_node",
        executor: "render",
        missingTags: ["gpu"],
      });
      expect(await why("placed", at(1))).toMatchObject({ reason: "placed_on_node", nodeId: "cpu" });
      // Three missed beats later the node no longer holds it: any node may take it.
      expect(await why("placed", at(3500))).toMatchObject({ reason: "queued" });
    },
  },
  {
    name: "placement: limits and placement together (a task left alone never blocks a limit's next task)",
    async run(store) {
      const limits = limitsOf(store);
      if (!limits) throw new Error("this store has no limits facet");
      await limits.set({ scope: "user", key: "u", maxRunning: 1 });
      const gpu = await create(store, [{ name: "gpu", userId: "u", placement: { requires: ["gpu"] } }]);
      const cpu = await create(store, [{ name: "cpu", userId: "u" }]);
      await store.startExecution({ taskId: id(gpu, "gpu"), now: T0 });
      await store.startExecution({ taskId: id(cpu, "cpu"), now: T0 });
      // A node without the tag skips the first task and takes the user's next.
      const [first] = await claim(store, "cpu-node", {}, at(1));
      expect(first?.task.name).toBe("cpu");
      // The user's one slot is taken: the gpu node waits.
      expect(await claim(store, "gpu-node", { tags: ["gpu"] }, at(2))).toEqual([]);
      await complete(store, first as ClaimedTask, at(3));
      expect(await claim(store, "cpu-node", {}, at(4))).toEqual([]);
      expect(names(await claim(store, "gpu-node", { tags: ["gpu"] }, at(5)))).toEqual(["gpu"]);
    },
  },
]);
