import { expect } from "vitest";
import { ApflowError } from "../../errors.js";
import { validateTasks } from "../../tree/validate.js";
import type { NewEvent, NewTask, Task, TaskEvent, TaskInput, TaskStatus } from "../../types.js";
import type { ClaimedTask, TaskStore } from "../../store/types.js";

/**
 * The store contract: what every `TaskStore` must do, as plain checks, one file per family of
 * operations. `describeStoreContract` (in `@aipartnerupflow/core/testing`) runs each as a test; a
 * store that passes them can run the engine. Checks take a fresh, empty store.
 */
export const STORE_FAMILIES = [
  "create",
  "start",
  "claim",
  "finish",
  "leases",
  "cancel",
  "events",
  "queries",
  "update-delete",
  "waits",
  "limits",
  "placement",
] as const;
export type StoreFamily = (typeof STORE_FAMILIES)[number];

export interface StoreCheck {
  family: StoreFamily;
  name: string;
  run(store: TaskStore): Promise<void>;
}

/** Tag a family's checks. */
export function family(name: StoreFamily, checks: Array<Omit<StoreCheck, "family">>): StoreCheck[] {
  return checks.map((c) => ({ family: name, ...c }));
}

export const T0 = new Date("2030-01-01T00:00:00.000Z");
export const at = (ms: number): Date => new Date(T0.getTime() + ms);
export const OWNER = "node-a";
export const LEASE = 10_000;

export async function create(store: TaskStore, tasks: TaskInput[], now = T0): Promise<Map<string, Task>> {
  const [tree] = validateTasks(tasks, { now });
  const { tasks: created } = await store.createTasks(tree as NewTask[], now);
  return new Map(created.map((t) => [t.name, t]));
}

export async function claimAll(store: TaskStore, now = T0, owner = OWNER): Promise<ClaimedTask[]> {
  const { claimed } = await store.claimReady({ owner, limit: 1000, leaseMs: LEASE, now });
  return claimed;
}

export async function start(store: TaskStore, taskId: string, now = T0, rerun: "failed" | "all" = "failed") {
  return (await store.startExecution({ taskId, rerun, now })).execution;
}

export async function completeAll(store: TaskStore, claimed: ClaimedTask[], now = T0): Promise<void> {
  for (const c of claimed)
    await store.finishTask(c.task.id, c.leaseToken, { status: "completed", result: { from: c.task.name } }, now);
}

export function names(claimed: ClaimedTask[]): string[] {
  return claimed.map((c) => c.task.name);
}

export async function statuses(store: TaskStore, rootId: string): Promise<Record<string, TaskStatus>> {
  const out: Record<string, TaskStatus> = {};
  for (const t of await store.getTree(rootId)) out[t.name] = t.status;
  return out;
}

export async function expectCode(p: Promise<unknown>, code: number): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, "expected the call to be refused").toBeInstanceOf(ApflowError);
  expect((err as ApflowError).code).toBe(code);
}

export const diamond: TaskInput[] = [
  { name: "root", dependencies: ["left", "right"] },
  { name: "left", parentId: "root", dependencies: ["leaf"] },
  { name: "right", parentId: "root", dependencies: ["leaf"] },
  { name: "leaf", parentId: "root" },
];

/**
 * Events compared exactly: every field of every event, in order, and `seq` strictly increasing.
 * `expected` are the events without `seq`.
 */
export function expectEvents(events: readonly TaskEvent[], expected: NewEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    expect((events[i] as TaskEvent).seq).toBeGreaterThan((events[i - 1] as TaskEvent).seq);
  }
  expect(events.map(({ seq: _seq, ...rest }) => rest)).toEqual(expected);
}

/** The store's `finishTasks`; a store without it must skip the checks that need it, with a reason. */
export function finishTasksOf(store: TaskStore): NonNullable<TaskStore["finishTasks"]> {
  const finishTasks = store.finishTasks?.bind(store);
  if (!finishTasks) {
    throw new Error("this store has no finishTasks: skip this check with a reason (describeStoreContract's skip)");
  }
  return finishTasks;
}
