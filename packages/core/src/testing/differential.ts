import { MemoryStore } from "../store/memory-store.js";
import type { ClaimedTask, FinishItem, TaskOutcome, TaskPatch, TaskStore } from "../store/types.js";
import { validateTasks } from "../tree/validate.js";
import type { JsonValue, NewTask, TaskInput } from "../types.js";

/**
 * The randomised differential check: random sequences of store operations (create trees, start,
 * claim, finish with random outcomes — one by one and batched —, cancel, renew, reclaim after a
 * clock jump, progress, update, delete, reads) run on a reference store and on the store under
 * test, comparing every result and every event. Values that are random by design (lease tokens,
 * event `seq` numbers) are mapped to names in order of appearance, per store, before comparing;
 * task and execution ids are chosen by the sequence, so they are compared as they are.
 */
export interface DifferentialOptions {
  /** The store under test: an empty store for each sequence. */
  subject: () => TaskStore | Promise<TaskStore>;
  /** The reference store (default: a new `MemoryStore`). */
  reference?: () => TaskStore | Promise<TaskStore>;
  /** Called with each store after its sequence (default: `close()`). */
  release?: (store: TaskStore, role: "reference" | "subject") => Promise<void>;
  /** How many sequences (default 1000; `APFLOW_DIFF_SEQUENCES` overrides). */
  sequences?: number;
  /** Operations per sequence (default 24). */
  steps?: number;
  /** Seed of the first sequence; sequence i uses `firstSeed + i` (default 1; `APFLOW_DIFF_BASE`). */
  firstSeed?: number;
  /** Run only the sequence of this seed (`APFLOW_DIFF_SEED`), e.g. to replay a failure. */
  seed?: number;
}

export interface DifferentialReport {
  sequences: number;
  operations: number;
}

/** A divergence between the two stores, naming the seed that replays it. */
export class DifferentialMismatch extends Error {
  constructor(
    readonly seed: number,
    readonly step: number,
    readonly operation: string,
    readonly reference: string,
    readonly subject: string,
  ) {
    super(
      `stores diverged: seed ${seed}, step ${step} (${operation})\n  reference: ${reference}\n  subject:   ${subject}\n` +
        `replay with APFLOW_DIFF_SEED=${seed}`,
    );
    this.name = "DifferentialMismatch";
  }
}

/** Run the sequences; throws `DifferentialMismatch` at the first difference. */
export async function runDifferential(options: DifferentialOptions): Promise<DifferentialReport> {
  const env = typeof process === "undefined" ? {} : process.env;
  const only = options.seed ?? numberFrom(env.APFLOW_DIFF_SEED);
  const count = numberFrom(env.APFLOW_DIFF_SEQUENCES) ?? options.sequences ?? 1000;
  const first = numberFrom(env.APFLOW_DIFF_BASE) ?? options.firstSeed ?? 1;
  const seeds = only !== undefined ? [only] : Array.from({ length: count }, (_, i) => first + i);
  const steps = options.steps ?? 24;
  let operations = 0;
  for (const seed of seeds) {
    const reference = await (options.reference ?? (() => new MemoryStore()))();
    const subject = await options.subject();
    try {
      operations += await runSequence(seed, steps, reference, subject);
    } finally {
      const release = options.release ?? ((s: TaskStore) => s.close());
      await release(reference, "reference");
      await release(subject, "subject");
    }
  }
  return { sequences: seeds.length, operations };
}

function numberFrom(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`expected an integer, got "${value}"`);
  return n;
}

/** mulberry32: small, fast, good enough to pick operations. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T0 = Date.parse("2030-01-01T00:00:00.000Z");
const LEASE = 1000;
const RESULTS: JsonValue[] = [null, 1, "text", { k: [1, 2] }, { nested: { x: null } }, [true, false]];
/** The default retry policy of executor `sturdy`, passed to every reclaim. */
const RECLAIM_EXECUTOR_RETRY = { sturdy: { maxAttempts: 4 } };

interface Lease {
  taskId: string;
  rootId: string;
  tokens: [string, string];
}

/** Names for values that are random by design, in order of appearance, for one store. */
class Names {
  private readonly tokens = new Map<string, string>();
  private readonly seqs = new Map<number, string>();

  token(value: string): void {
    if (!this.tokens.has(value)) this.tokens.set(value, `lease#${this.tokens.size + 1}`);
  }

  normalise(value: unknown): unknown {
    if (value instanceof Error) {
      const e = value as Error & { code?: unknown; data?: unknown };
      return {
        error: { name: e.name, code: e.code ?? null, message: this.normalise(e.message), data: e.data ?? null },
      };
    }
    if (typeof value === "string") return this.tokens.get(value) ?? value;
    if (Array.isArray(value)) return value.map((v) => this.normalise(v));
    // An object that says how it serialises (a store's lazily copied result) is compared as that.
    const custom = value as { toJSON?: unknown } | null;
    if (
      custom !== null &&
      typeof custom === "object" &&
      !(custom instanceof Date) &&
      typeof custom.toJSON === "function"
    ) {
      return this.normalise((custom.toJSON as () => unknown)());
    }
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(value).sort()) {
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined) continue;
        if (key === "seq" && typeof v === "number") {
          if (!this.seqs.has(v)) this.seqs.set(v, `seq#${this.seqs.size + 1}`);
          out[key] = this.seqs.get(v);
        } else out[key] = this.normalise(v);
      }
      return out;
    }
    return value;
  }
}

async function settle<T>(p: () => Promise<T>): Promise<{ ok: T } | { err: unknown }> {
  try {
    return { ok: await p() };
  } catch (err) {
    return { err };
  }
}

async function runSequence(seed: number, steps: number, a: TaskStore, b: TaskStore): Promise<number> {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const chance = (p: number): boolean => random() < p;
  const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
  const names: [Names, Names] = [new Names(), new Names()];
  let now = T0;
  let step = 0;
  let taskCount = 0;
  let execCount = 0;
  const tasks: Array<{ id: string; rootId: string }> = [];
  const held = new Map<string, Lease>();
  const stale: Lease[] = [];

  /** Run one operation on both stores and compare what each returned (value or error). */
  const both = async <T>(
    operation: string,
    run: (store: TaskStore, side: 0 | 1) => Promise<T>,
  ): Promise<{ ok: T; okB: T } | { err: unknown }> => {
    step++;
    const ra = await settle(() => run(a, 0));
    const rb = await settle(() => run(b, 1));
    // Tokens first appear in claims: name them before normalising.
    for (const [i, r] of [ra, rb].entries()) {
      if ("ok" in r) for (const c of claimedIn(r.ok)) (names[i] as Names).token(c.leaseToken);
    }
    const na = JSON.stringify((names[0] as Names).normalise("ok" in ra ? { ok: ra.ok } : { err: ra.err }));
    const nb = JSON.stringify((names[1] as Names).normalise("ok" in rb ? { ok: rb.ok } : { err: rb.err }));
    if (na !== nb) throw new DifferentialMismatch(seed, step, operation, na, nb);
    if ("ok" in ra && "ok" in rb) return { ok: ra.ok, okB: rb.ok };
    return { err: "err" in ra ? ra.err : null };
  };

  const at = (): Date => new Date(now);
  const pickTask = (): { id: string; rootId: string } | undefined => (tasks.length === 0 ? undefined : pick(tasks));

  const randomTree = (): TaskInput[] => {
    const size = int(1, 6);
    const ids = Array.from({ length: size }, () => `t${++taskCount}`);
    const out: TaskInput[] = [];
    for (let i = 0; i < size; i++) {
      const task: TaskInput = { id: ids[i] as string, name: `n${ids[i]}` };
      if (i > 0) task.parentId = ids[int(0, i - 1)] as string;
      // Dependencies only on later tasks of the tree: never a cycle.
      if (i < size - 1 && chance(0.5)) {
        const targets = new Set<string>();
        for (let k = int(1, 2); k > 0; k--) targets.add(ids[int(i + 1, size - 1)] as string);
        task.dependencies = [...targets].map((id) => (chance(0.7) ? id : { id, required: false }));
      }
      if (chance(0.5)) task.priority = int(0, 3);
      if (chance(0.25)) task.retry = { maxAttempts: int(1, 3) };
      // An executor with a default retry policy, which the reclaim applies (RECLAIM_EXECUTOR_RETRY).
      if (chance(0.2)) task.params = { executorId: "sturdy" };
      if (chance(0.15)) task.runAt = new Date(now + int(0, 3000)).toISOString();
      out.push(task);
    }
    return out;
  };

  const randomOutcome = (): TaskOutcome => {
    const r = random();
    if (r < 0.45) return { status: "completed", result: pick(RESULTS) };
    const error = { code: `E${int(1, 3)}`, message: "failed on purpose" };
    if (r < 0.7) return { status: "failed", error };
    if (r < 0.85) return { status: "failed", error, retryAt: new Date(now + int(0, 2000)) };
    const outcome: TaskOutcome = { status: "cancelled" };
    if (chance(0.5)) outcome.result = pick(RESULTS);
    if (chance(0.3)) outcome.error = { code: "STOPPED", message: "stopped" };
    return outcome;
  };

  const forget = (taskId: string): void => {
    const lease = held.get(taskId);
    if (lease) {
      held.delete(taskId);
      stale.push(lease);
    }
  };

  for (let i = 0; i < steps; i++) {
    now += int(1, 20);
    const r = random() * 100;
    if (r < 14 || tasks.length === 0) {
      const inputs = randomTree();
      let created: NewTask[];
      try {
        created = (validateTasks(inputs, { now: at() })[0] ?? []) as NewTask[];
      } catch {
        continue;
      }
      // Now and then an id that exists already: both must refuse it the same way.
      if (chance(0.05) && tasks.length > 0) {
        const first = created[0] as NewTask;
        created = [{ ...first, id: (pickTask() as { id: string }).id, rootId: first.rootId }];
      }
      const result = await both("createTasks", (s) => s.createTasks(structuredClone(created), at()));
      if ("ok" in result) for (const t of result.ok.tasks) tasks.push({ id: t.id, rootId: t.rootId });
    } else if (r < 26) {
      const target = pickTask() as { id: string; rootId: string };
      const taskId = chance(0.7) ? target.rootId : target.id;
      const executionId = `x${++execCount}`;
      const rerun = chance(0.2) ? "all" : "failed";
      await both("startExecution", (s) => s.startExecution({ taskId, executionId, rerun, now: at() }));
    } else if (r < 44) {
      const owner = pick(["a", "b"]);
      const limit = int(1, 4);
      const result = await both("claimReady", (s) => s.claimReady({ owner, limit, leaseMs: LEASE, now: at() }));
      if ("ok" in result) {
        result.ok.claimed.forEach((c, k) => {
          const other = result.okB.claimed[k] as ClaimedTask;
          held.set(c.task.id, { taskId: c.task.id, rootId: c.task.rootId, tokens: [c.leaseToken, other.leaseToken] });
        });
      }
      // What the engine reads after a short claim: when the next queued task becomes due.
      await both("nextDueAt", (s) => (s.nextDueAt ? s.nextDueAt({ now: at() }) : Promise.resolve(null)));
    } else if (r < 66 && (held.size > 0 || stale.length > 0)) {
      const leases = [...held.values()];
      if (leases.length > 0 && chance(0.35)) {
        // A batch of one tree's leases, completions first: the order every store writes them in.
        const root = (pick(leases) as Lease).rootId;
        const items = leases
          .filter((l) => l.rootId === root)
          .slice(0, int(1, 3))
          .map((l) => ({ lease: l, outcome: randomOutcome() }))
          .sort((x, y) => Number(x.outcome.status !== "completed") - Number(y.outcome.status !== "completed"));
        await both("finishTasks", (s, side) => {
          const batch: FinishItem[] = items.map(({ lease, outcome }) => ({
            taskId: lease.taskId,
            leaseToken: lease.tokens[side],
            outcome: structuredClone(outcome),
          }));
          if (!s.finishTasks) throw new Error("the store has no finishTasks");
          return s.finishTasks(batch, at());
        });
        for (const { lease } of items) forget(lease.taskId);
      } else {
        const lease = leases.length > 0 && (stale.length === 0 || chance(0.9)) ? pick(leases) : pick(stale);
        const outcome = randomOutcome();
        await both("finishTask", (s, side) =>
          s.finishTask(lease.taskId, lease.tokens[side], structuredClone(outcome), at()),
        );
        if (held.get(lease.taskId) === lease) forget(lease.taskId);
      }
    } else if (r < 73) {
      const target = pickTask() as { id: string; rootId: string };
      const taskId = chance(0.5) ? target.rootId : target.id;
      const options = chance(0.5) ? { reason: "asked to stop", now: at() } : { now: at() };
      await both("cancel", (s) => s.cancel(taskId, options));
    } else if (r < 81) {
      if (chance(0.6)) now += LEASE + int(0, 500);
      const maxAttempts = int(2, 3);
      const result = await both("reclaimExpired", (s) =>
        s.reclaimExpired(at(), { maxAttempts, executorRetry: RECLAIM_EXECUTOR_RETRY }),
      );
      if ("ok" in result) for (const t of result.ok.tasks) forget(t.id);
    } else if (r < 86 && held.size > 0) {
      const owner = pick(["a", "b"]);
      const leases = [...held.values()].filter(() => chance(0.7));
      if (stale.length > 0 && chance(0.3)) leases.push(pick(stale));
      await both("renewLeases", (s, side) =>
        s.renewLeases(
          owner,
          leases.map((l) => ({ taskId: l.taskId, leaseToken: l.tokens[side] })),
          LEASE,
          at(),
        ),
      );
    } else if (r < 90 && held.size > 0) {
      const lease = pick([...held.values()]);
      const progress = Math.round((random() * 2 - 0.5) * 100) / 100;
      const message = chance(0.5) ? "working" : undefined;
      await both("reportProgress", (s, side) =>
        s.reportProgress(lease.taskId, lease.tokens[side], progress, message, at()),
      );
      if (chance(0.5)) {
        await both("saveCheckpoint", (s, side) => s.saveCheckpoint(lease.taskId, lease.tokens[side], { step: i }));
      }
    } else if (r < 94) {
      const target = pickTask() as { id: string };
      const patch: TaskPatch = {};
      const kind = int(0, 2);
      if (kind === 0) patch.priority = int(0, 3);
      else if (kind === 1) patch.runAt = chance(0.5) ? null : new Date(now + int(0, 1500)).toISOString();
      else patch.name = `renamed-${i}`;
      await both("updateTask", (s) => s.updateTask(target.id, patch, at()));
    } else if (r < 96) {
      const target = pickTask() as { id: string };
      const result = await both("deleteTask", (s) => s.deleteTask(target.id));
      if ("ok" in result) {
        const gone = new Set(result.ok.deleted);
        for (let k = tasks.length - 1; k >= 0; k--) if (gone.has((tasks[k] as { id: string }).id)) tasks.splice(k, 1);
        for (const id of gone) forget(id);
      }
    } else {
      const target = pickTask() as { id: string; rootId: string };
      await both("getTree", (s) => s.getTree(target.rootId));
      await both("getChildren", (s) => s.getChildren(target.id));
    }
  }

  // Everything either store holds at the end, read back.
  const roots = [...new Set(tasks.map((t) => t.rootId))];
  for (const rootId of roots) await both("getTree", (s) => s.getTree(rootId));
  for (const t of tasks) await both("getAttempts", (s) => s.getAttempts(t.id));
  await both("listExecutions", (s) => s.listExecutions({ limit: 1000 }));
  await both("listTasks", (s) => s.listTasks({ limit: 1000 }));
  await both("countByStatus", (s) => s.countByStatus());
  await both("readEvents", (s) => s.readEvents({ limit: 100_000 }));
  return step;
}

function claimedIn(value: unknown): ClaimedTask[] {
  const claimed = (value as { claimed?: unknown } | null)?.claimed;
  return Array.isArray(claimed) ? (claimed as ClaimedTask[]) : [];
}
