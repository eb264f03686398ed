import { describe, expect, it } from "vitest";
import { InvalidTransitionError } from "../errors.js";
import { createTask } from "../testing.js";
import { TASK_STATUSES, type Task, type TaskStatus } from "../types.js";
import { canTransition, isTerminal, resetForRerun, sourcesOf, transition } from "./status.js";

const allowed: Array<[TaskStatus, TaskStatus]> = [
  ["pending", "in_progress"],
  ["pending", "cancelled"],
  ["pending", "failed"],
  ["in_progress", "completed"],
  ["in_progress", "failed"],
  ["in_progress", "cancelled"],
  ["in_progress", "pending"],
  ["in_progress", "waiting"],
  ["waiting", "pending"],
  ["waiting", "cancelled"],
  ["waiting", "failed"],
  ["failed", "pending"],
  ["cancelled", "pending"],
  ["completed", "pending"],
];

function task(status: TaskStatus): Task {
  return createTask({ id: "t", name: "t", status, attempt: 0, startedAt: null });
}

describe("status machine", () => {
  it("allows exactly the transitions of docs/semantics.md#states and refuses every other with -32006", () => {
    for (const from of TASK_STATUSES) {
      for (const to of TASK_STATUSES) {
        const ok = allowed.some(([f, t]) => f === from && t === to);
        expect(canTransition(from, to), `${from} -> ${to}`).toBe(ok);
        if (!ok) {
          const err = (() => {
            try {
              transition(task(from), to, "2030-01-01T00:00:01.000Z");
            } catch (e) {
              return e;
            }
          })();
          expect(err).toBeInstanceOf(InvalidTransitionError);
          expect((err as InvalidTransitionError).code).toBe(-32006);
        }
      }
    }
    expect(sourcesOf("pending").sort()).toEqual(["cancelled", "completed", "failed", "in_progress", "waiting"]);
    expect(TASK_STATUSES.filter(isTerminal)).toEqual(["completed", "failed", "cancelled"]);
  });

  it("keeps the timestamps, result and progress consistent", () => {
    const t = task("pending");
    transition(t, "in_progress", "A");
    expect([t.startedAt, t.completedAt, t.attempt]).toEqual(["A", null, 1]);
    transition(t, "completed", "B", { result: { ok: true } });
    expect([t.completedAt, t.progress, t.result]).toEqual(["B", 1, { ok: true }]);
    resetForRerun(t, "C");
    expect([t.status, t.completedAt, t.result, t.progress, t.startedAt]).toEqual(["pending", null, null, 0, "A"]);
    transition(t, "failed", "D", { error: { code: "DEPENDENCY_FAILED", message: "x" } });
    expect(t.completedAt).toBe("D");
    expect(t.error?.code).toBe("DEPENDENCY_FAILED");
  });
});
