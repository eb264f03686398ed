import { describe, expect, it } from "vitest";
import {
  applyEvents,
  buildTree,
  countByStatus,
  executorOf,
  structureKey,
  taskAfter,
  taskDurationMs,
  treeProgress,
  waitingReason,
} from "./tree-model.js";
import type { Task, TaskEvent } from "./types.js";

const T0 = "2026-01-01T00:00:00.000Z";

function task(id: string, over: Partial<Task> = {}): Task {
  return {
    id,
    parentId: null,
    rootId: "root",
    userId: null,
    name: id,
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
    createdAt: T0,
    updatedAt: T0,
    startedAt: null,
    completedAt: null,
    wait: null,
    placement: null,
    placedOn: null,
    ...over,
  };
}

function event(seq: number, type: TaskEvent["type"], taskId: string, over: Partial<TaskEvent> = {}): TaskEvent {
  const status: Record<string, TaskEvent["status"]> = {
    "task.started": "in_progress",
    "task.progress": "in_progress",
    "task.completed": "completed",
    "task.failed": "failed",
    "task.cancelled": "cancelled",
    "task.retrying": "pending",
  };
  return {
    seq,
    type,
    taskId,
    rootId: "root",
    executionId: "e1",
    status: status[type] ?? "pending",
    at: `2026-01-01T00:00:${String(seq).padStart(2, "0")}.000Z`,
    ...over,
  };
}

const tree = () =>
  buildTree([
    task("root", {
      hasChildren: true,
      dependencies: [
        { id: "a", required: true },
        { id: "b", required: false },
      ],
    }),
    task("a", { parentId: "root", params: { executorId: "echo" } }),
    task("b", { parentId: "root", dependencies: [{ id: "a", required: true }] }),
  ]);

describe("tree model", () => {
  it("applies events in seq order, skips replays, and leaves the old model alone", () => {
    const m0 = tree();
    const { model: m1, changed } = applyEvents(m0, [
      event(1, "task.started", "a"),
      event(2, "task.progress", "a", { progress: 0.5 }),
    ]);
    expect(changed).toEqual(new Set(["a"]));
    expect(m1.tasks.get("a")).toMatchObject({
      status: "in_progress",
      progress: 0.5,
      startedAt: event(1, "task.started", "a").at,
    });
    expect(m0.tasks.get("a")?.status).toBe("pending");
    const { model: m2 } = applyEvents(m1, [
      event(2, "task.progress", "a", { progress: 0.1 }), // replayed: ignored
      event(3, "task.completed", "a", { result: { ok: true } }),
      event(4, "task.failed", "b", { error: { code: "BOOM", message: "no" } }),
    ]);
    expect(m2.tasks.get("a")).toMatchObject({ status: "completed", progress: 1, result: { ok: true } });
    expect(m2.tasks.get("b")).toMatchObject({ status: "failed", error: { code: "BOOM", message: "no" } });
    expect(m2.lastSeq).toBe(4);
    expect(m2.structureKey).toBe(m0.structureKey);
  });

  it("asks for the tree again on unknown tasks and on tree start/finish", () => {
    expect(applyEvents(tree(), [event(1, "task.started", "zzz")]).refetch).toBe(true);
    expect(applyEvents(tree(), [event(1, "tree.finished", "root")]).refetch).toBe(true);
    expect(applyEvents(tree(), [event(1, "task.started", "a")]).refetch).toBe(false);
    // Events of another tree are not ours.
    expect(applyEvents(tree(), [event(1, "task.started", "a", { rootId: "other" })]).changed.size).toBe(0);
  });

  it("a retry counts the attempt and keeps the last error", () => {
    const t = taskAfter(
      task("a", { attempt: 1 }),
      event(5, "task.retrying", "a", { error: { code: "X", message: "flaky" } }),
    );
    expect(t).toMatchObject({ status: "pending", attempt: 2, error: { code: "X" } });
  });

  it("counts, progress and durations", () => {
    const m = applyEvents(tree(), [event(1, "task.started", "a"), event(2, "task.completed", "a")]).model;
    const counts = countByStatus(m.tasks.values());
    expect(counts).toEqual({ pending: 2, in_progress: 0, waiting: 0, completed: 1, failed: 0, cancelled: 0 });
    expect(treeProgress(counts)).toBeCloseTo(1 / 3);
    expect(taskDurationMs(m.tasks.get("a") as Task, 0)).toBe(1000);
    expect(taskDurationMs(task("x", { startedAt: T0 }), Date.parse(T0) + 250)).toBe(250);
    expect(taskDurationMs(task("x"), 0)).toBeNull();
  });

  it("the layout key follows structure, not status", () => {
    const a = [task("a"), task("b", { dependencies: [{ id: "a", required: true }] })];
    const b = [task("a", { status: "completed" }), task("b", { dependencies: [{ id: "a", required: true }] })];
    const c = [task("a"), task("b", { dependencies: [{ id: "a", required: false }] })];
    expect(structureKey(a)).toBe(structureKey(b));
    expect(structureKey(a)).not.toBe(structureKey(c));
    expect(() => buildTree([])).toThrow(/root/);
  });

  it("says why a pending task waits, and since when", () => {
    const now = Date.parse("2026-01-01T01:00:00Z");
    const m = tree();
    expect(waitingReason(m.tasks.get("b") as Task, m, true, now)).toMatchObject({
      kind: "dependencies",
      text: "waiting for dependency: a",
      since: T0,
    });
    expect(waitingReason(m.tasks.get("a") as Task, m, true, now)?.kind).toBe("ready");
    expect(waitingReason(m.tasks.get("a") as Task, m, false, now)?.kind).toBe("idle");
    const failed = applyEvents(m, [event(1, "task.failed", "a")]).model;
    expect(waitingReason(failed.tasks.get("b") as Task, failed, true, now)).toMatchObject({
      kind: "blocked",
      text: "required dependency a failed",
    });
    const later = task("s", { runAt: "2026-01-01T02:00:00Z" });
    expect(waitingReason(later, m, true, now)).toMatchObject({
      kind: "scheduled",
      text: "runs at 2026-01-01T02:00:00Z",
    });
    expect(waitingReason(task("r", { error: { code: "E", message: "flaky" } }), m, true, now)?.kind).toBe("retrying");
    expect(waitingReason(task("done", { status: "completed" }), m, true, now)).toBeNull();
  });

  it("finds the executor in params, then schemas.method", () => {
    expect(executorOf(task("a", { params: { executorId: "echo" } }))).toBe("echo");
    expect(executorOf(task("a", { schemas: { method: "llm" } }))).toBe("llm");
    expect(executorOf(task("a"))).toBeNull();
  });
});
