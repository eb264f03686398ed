import { describe, expect, it } from "vitest";
import type { AttemptRecord } from "../store/types.js";
import type { Execution, Task } from "../types.js";
import { queuedByExecution, WAITING_REASONS, waitReason, whyWaiting } from "./waiting.js";

const T = (s: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, s)).toISOString();
const NOW = new Date(T(100));

function task(over: Partial<Task> = {}): Task {
  return {
    id: "t",
    parentId: "r",
    rootId: "r",
    userId: null,
    name: "t",
    status: "pending",
    priority: 2,
    dependencies: [],
    inputs: {},
    params: {},
    schemas: {},
    result: null,
    error: null,
    progress: 0,
    attempt: 0,
    retry: null,
    runAt: null,
    originalTaskId: null,
    hasChildren: false,
    metadata: {},
    wait: null,
    placement: null,
    placedOn: null,
    createdAt: T(0),
    updatedAt: T(0),
    startedAt: null,
    completedAt: null,
    ...over,
  };
}

function execution(over: Partial<Execution> = {}): Execution {
  return {
    id: "e1",
    rootId: "r",
    taskId: "r",
    status: "running",
    cancelRequested: false,
    remaining: 1,
    total: 1,
    demo: false,
    userId: null,
    createdAt: T(10),
    finishedAt: null,
    ...over,
  };
}

const dep = (id: string, status: Task["status"], completedAt: string | null = null) => ({
  id,
  name: `n-${id}`,
  status,
  completedAt,
});

describe("whyWaiting", () => {
  it("is null for tasks that are not pending", () => {
    for (const status of ["in_progress", "completed", "failed", "cancelled"] as const) {
      expect(
        whyWaiting({ task: task({ status }), dependencies: [], attempts: [], execution: execution(), now: NOW }),
      ).toBeNull();
    }
  });

  it("not_executing: no execution at all, since the task's creation", () => {
    const w = whyWaiting({ task: task(), dependencies: [], attempts: [], execution: null, now: NOW });
    expect(w).toMatchObject({ reason: "not_executing", since: T(0) });
    expect(w?.detail).toContain("execute");
  });

  it("not_executing: the last execution finished, since it finished", () => {
    const done = execution({ status: "cancelled", finishedAt: T(50) });
    const w = whyWaiting({ task: task(), dependencies: [], attempts: [], execution: done, now: NOW });
    expect(w).toMatchObject({ reason: "not_executing", since: T(50) });
  });

  it("not_executing: the running execution runs another task of the tree", () => {
    const other = execution({ taskId: "sibling" });
    const tree = [task({ id: "sibling", dependencies: [] }), task()];
    expect(queuedByExecution(task(), other, tree)).toBe(false);
    const w = whyWaiting({
      task: task(),
      dependencies: [],
      attempts: [],
      execution: other,
      queued: queuedByExecution(task(), other, tree),
      now: NOW,
    });
    expect(w).toMatchObject({ reason: "not_executing" });
    expect(w?.detail).toContain("sibling");
  });

  it("queuedByExecution follows the dependencies of the executed task, and skips later tasks", () => {
    const e = execution({ taskId: "top" });
    const tree = [
      task({ id: "top", dependencies: [{ id: "mid", required: true }] }),
      task({ id: "mid", dependencies: [{ id: "t", required: false }] }),
      task(),
    ];
    expect(queuedByExecution(task(), e, tree)).toBe(true);
    expect(queuedByExecution(task({ createdAt: T(20) }), execution(), tree)).toBe(false);
    expect(queuedByExecution(task(), execution(), tree)).toBe(true);
  });

  it("dependencies: names the unfinished ones, optional ones resolve when terminal", () => {
    const t = task({
      dependencies: [
        { id: "a", required: true },
        { id: "b", required: false },
        { id: "c", required: true },
        { id: "gone", required: true },
      ],
    });
    const w = whyWaiting({
      task: t,
      dependencies: [dep("a", "in_progress"), dep("b", "failed", T(30)), dep("c", "completed", T(40))],
      attempts: [],
      execution: execution(),
      now: NOW,
    });
    expect(w?.reason).toBe("dependencies");
    if (w?.reason !== "dependencies") throw new Error("unreachable");
    expect(w.dependencies).toEqual([
      { id: "a", name: "n-a", status: "in_progress", required: true },
      { id: "gone", name: null, status: "missing", required: true },
    ]);
    expect(w.since).toBe(T(10));
    expect(w.detail).toBe("waiting for 2 dependencies: n-a (in_progress), gone (missing)");
  });

  it("run_at: a future runAt, since the task became ready", () => {
    const t = task({ runAt: T(500), dependencies: [{ id: "a", required: true }] });
    const w = whyWaiting({
      task: t,
      dependencies: [dep("a", "completed", T(60))],
      attempts: [],
      execution: execution(),
      now: NOW,
    });
    expect(w).toMatchObject({ reason: "run_at", runAt: T(500), since: T(60) });
  });

  it("retry_backoff: the last attempt of this execution failed, since it failed", () => {
    const attempts: AttemptRecord[] = [
      {
        attempt: 1,
        startedAt: T(20),
        endedAt: T(30),
        status: "failed",
        error: { code: "BOOM", message: "x" },
        owner: "n",
      },
    ];
    const t = task({ runAt: T(200), attempt: 1 });
    const w = whyWaiting({ task: t, dependencies: [], attempts, execution: execution(), now: NOW });
    expect(w).toMatchObject({ reason: "retry_backoff", retryAt: T(200), attempt: 1, errorCode: "BOOM", since: T(30) });
    expect(w?.detail).toContain("attempt 2");
    // The same failure from an earlier execution is not a backoff of this one: runAt is the user's.
    const later = execution({ createdAt: T(40) });
    expect(whyWaiting({ task: t, dependencies: [], attempts, execution: later, now: NOW })?.reason).toBe("run_at");
  });

  it("queued: eligible, since the latest of queueing, dependency finish and runAt", () => {
    const t = task({ runAt: T(70), dependencies: [{ id: "a", required: true }] });
    const w = whyWaiting({
      task: t,
      dependencies: [dep("a", "completed", T(60))],
      attempts: [],
      execution: execution(),
      now: NOW,
    });
    expect(w).toMatchObject({ reason: "queued", executionId: "e1", since: T(70) });
    const plain = whyWaiting({ task: task(), dependencies: [], attempts: [], execution: execution(), now: NOW });
    expect(plain).toMatchObject({ reason: "queued", since: T(10) });
  });

  it("says no_capable_node when no live node runs the executor of an eligible task", () => {
    const t = task({ schemas: { method: "gpu" } });
    const base = { task: t, dependencies: [], attempts: [], execution: execution(), now: NOW };
    expect(whyWaiting({ ...base, capable: new Set(["echo"]) })).toMatchObject({
      reason: "no_capable_node",
      executor: "gpu",
      executionId: "e1",
      since: T(10),
    });
    expect(whyWaiting({ ...base, capable: new Set(["gpu"]) })).toMatchObject({ reason: "queued" });
    // Not known (no registry): queued.
    expect(whyWaiting({ ...base, capable: null })).toMatchObject({ reason: "queued" });
    // A grouping task (no executor) never waits for a node.
    expect(whyWaiting({ ...base, task: task({ schemas: {} }), capable: new Set() })).toMatchObject({
      reason: "queued",
    });
  });

  it("says no_capable_node, naming the missing tags, when no live node with the executor has the required tags", () => {
    const t = task({ schemas: { method: "gpu" }, placement: { requires: ["cuda", "eu"] } });
    const base = { task: t, dependencies: [], attempts: [], execution: execution(), now: NOW };
    const node = (nodeId: string, executors: string[], tags: string[], holds = true) => ({
      nodeId,
      executors,
      tags,
      holds,
    });
    // The node with the executor lacks one tag; the node with every tag lacks the executor.
    expect(
      whyWaiting({ ...base, nodes: [node("a", ["gpu"], ["cuda"]), node("b", ["echo"], ["cuda", "eu"])] }),
    ).toMatchObject({ reason: "no_capable_node", executor: "gpu", missingTags: ["eu"], executionId: "e1" });
    expect(whyWaiting({ ...base, nodes: [node("c", ["gpu"], ["eu", "cuda", "x"])] })).toMatchObject({
      reason: "queued",
    });
    // No node runs the executor at all: the executor is what is missing.
    expect(whyWaiting({ ...base, nodes: [node("b", ["echo"], ["cuda", "eu"])] })).toMatchObject({
      reason: "no_capable_node",
      executor: "gpu",
      missingTags: [],
    });
    // A grouping task that requires tags needs a node with them (any executors).
    const grouping = task({ schemas: {}, placement: { requires: ["eu"] } });
    expect(whyWaiting({ ...base, task: grouping, nodes: [node("a", [], ["us"])] })).toMatchObject({
      reason: "no_capable_node",
      executor: null,
      missingTags: ["eu"],
    });
    // Prefers alone never keeps a task waiting; nodes not known: queued.
    expect(whyWaiting({ ...base, task: task({ placement: { prefers: ["gpu"] } }), nodes: [] })).toMatchObject({
      reason: "queued",
    });
    expect(whyWaiting({ ...base, nodes: null })).toMatchObject({ reason: "queued" });
  });

  it("says placed_on_node while the node a task is placed on holds it, queued once it does not", () => {
    const t = task({ placedOn: "node-b" });
    const base = { task: t, dependencies: [], attempts: [], execution: execution(), now: NOW };
    const b = { nodeId: "node-b", executors: [], tags: [], holds: true };
    expect(whyWaiting({ ...base, nodes: [b] })).toMatchObject({
      reason: "placed_on_node",
      nodeId: "node-b",
      executionId: "e1",
      since: T(10),
    });
    expect(whyWaiting({ ...base, nodes: [{ ...b, holds: false }] })).toMatchObject({ reason: "queued" });
    expect(whyWaiting({ ...base, nodes: [] })).toMatchObject({ reason: "queued" });
  });

  it("covers every reason it names", () => {
    expect([...WAITING_REASONS].sort()).toEqual([
      "dependencies",
      "event",
      "input",
      "limit",
      "no_capable_node",
      "not_executing",
      "placed_on_node",
      "queued",
      "retry_backoff",
      "run_at",
    ]);
  });
});

describe("waitReason", () => {
  it("says what a waiting task waits for, since when and until when", () => {
    const wait = { prompt: "approve?", since: T(5), deadline: T(50), answers: [], required: 2 };
    expect(
      whyWaiting({
        task: task({ status: "waiting", wait }),
        dependencies: [],
        attempts: [],
        execution: null,
        now: NOW,
      }),
    ).toEqual({
      reason: "input",
      detail: `waiting for input: approve? (0 of 2 answers), until ${T(50)}`,
      since: T(5),
      prompt: "approve?",
      until: T(50),
      answers: 0,
      required: 2,
    });
    const evented = { prompt: "ticket closed", since: T(5), event: "ticket", key: "T-1", answers: [] };
    expect(waitReason(task({ status: "waiting", wait: evented }))).toMatchObject({
      reason: "event",
      event: "ticket",
      key: "T-1",
      until: null,
    });
    expect(waitReason(task({ status: "pending", wait: evented }))).toBeNull();
  });
});
