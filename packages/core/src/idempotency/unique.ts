import { ApflowError, ErrorCode, ValidationError, type ValidationIssue } from "../errors.js";
import type { TaskStore } from "../store/types.js";
import { isTerminal } from "../task/status.js";
import type { IdempotencyStore, UniqueScope } from "./types.js";

/** What a root asks for with `uniqueKey` and `unique`. */
export interface UniqueSpec {
  uniqueKey: string;
  scope: UniqueScope;
  periodMs: number | null;
}

/**
 * How long a reservation whose tree does not exist yet counts as held (the request that made it
 * is still storing the tree); after it, a reservation left by a request that failed is taken over.
 */
export const UNIQUE_CREATE_GRACE_MS = 60_000;

/**
 * Take `uniqueKey` and `unique` off the roots of a task array (the task schema does not know
 * them): the array without them, and the spec of each root by its position among the roots.
 */
export function takeUniqueSpecs(tasks: unknown): { tasks: unknown; specs: Map<number, UniqueSpec> } {
  const specs = new Map<number, UniqueSpec>();
  if (!Array.isArray(tasks)) return { tasks, specs };
  const issues: ValidationIssue[] = [];
  let rootIndex = -1;
  const plain = tasks.map((item: unknown, i) => {
    if (!item || typeof item !== "object" || Array.isArray(item)) return item;
    const { uniqueKey, unique, parentId } = item as Record<string, unknown>;
    const isRoot = parentId === undefined || parentId === null;
    if (isRoot) rootIndex++;
    if (uniqueKey === undefined && unique === undefined) return item;
    // Copied only when there is something to take out (most tasks have neither field).
    const { uniqueKey: _key, unique: _unique, ...rest } = item as Record<string, unknown>;
    const spec = parseSpec(uniqueKey, unique, `tasks[${i}]`, isRoot, issues);
    if (spec) specs.set(rootIndex, spec);
    return rest;
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return { tasks: plain, specs };
}

function parseSpec(
  uniqueKey: unknown,
  unique: unknown,
  at: string,
  isRoot: boolean,
  issues: ValidationIssue[],
): UniqueSpec | null {
  const fail = (path: string, message: string): null => {
    issues.push({ path: `${at}.${path}`, code: "invalid_unique", message });
    return null;
  };
  if (!isRoot) return fail("uniqueKey", "only a root task may carry uniqueKey and unique");
  if (uniqueKey === undefined) return fail("uniqueKey", "unique needs a uniqueKey");
  if (typeof uniqueKey !== "string" || uniqueKey.length < 1 || uniqueKey.length > 200) {
    return fail("uniqueKey", "uniqueKey must be a string of 1..200 characters");
  }
  if (unique === undefined) return { uniqueKey, scope: "active", periodMs: null };
  if (!unique || typeof unique !== "object" || Array.isArray(unique)) {
    return fail("unique", 'unique must be an object: {"scope": "active"} or {"scope": "period", "periodMs": N}');
  }
  const { scope = "active", periodMs, ...other } = unique as Record<string, unknown>;
  const extra = Object.keys(other);
  if (extra.length > 0) return fail(`unique.${extra[0]}`, `unknown field of unique: ${extra[0]}`);
  if (scope !== "active" && scope !== "period")
    return fail("unique.scope", 'unique.scope must be "active" or "period"');
  if (scope === "active") {
    if (periodMs !== undefined) return fail("unique.periodMs", 'unique.periodMs applies to scope "period" only');
    return { uniqueKey, scope, periodMs: null };
  }
  if (typeof periodMs !== "number" || !Number.isInteger(periodMs) || periodMs <= 0) {
    return fail("unique.periodMs", 'unique.periodMs must be a positive integer (milliseconds) for scope "period"');
  }
  return { uniqueKey, scope, periodMs };
}

/**
 * Reserve `spec.uniqueKey` for `owner` for the new root `rootId`. Returns null when reserved (the
 * caller creates the tree), or the root of the tree that holds the key: one that is unfinished
 * (`active`) or whose period is not over (`period`). A reservation that no longer holds is
 * replaced atomically, so two requests racing for it create one tree.
 */
export async function claimUniqueTree(
  idempotency: IdempotencyStore,
  store: TaskStore,
  owner: string | null,
  spec: UniqueSpec,
  rootId: string,
  now: Date,
): Promise<string | null> {
  let replace: string | undefined;
  for (let attempt = 0; attempt < 8; attempt++) {
    const claim = await idempotency.claimUnique({
      owner,
      uniqueKey: spec.uniqueKey,
      rootId,
      scope: spec.scope,
      until: spec.periodMs === null ? null : new Date(now.getTime() + spec.periodMs),
      now,
      ...(replace !== undefined ? { replace } : {}),
    });
    if (claim.claimed) return null;
    const held = claim.existing;
    if (held.scope === "period" && held.until !== null) {
      if (held.until.getTime() > now.getTime()) return held.rootId;
    } else if (await treeUnfinished(store, held.rootId, held.createdAt, now)) {
      return held.rootId;
    }
    replace = held.rootId;
  }
  throw new ApflowError(ErrorCode.Unavailable, `uniqueKey "${spec.uniqueKey}" is contended: retry the request`);
}

async function treeUnfinished(store: TaskStore, rootId: string, reservedAt: Date, now: Date): Promise<boolean> {
  const root = await store.getTask(rootId);
  if (!root) return now.getTime() - reservedAt.getTime() < UNIQUE_CREATE_GRACE_MS;
  if (!isTerminal(root.status)) return true;
  const running = await store.listExecutions({ rootId, status: "running", limit: 1 });
  return running.length > 0;
}
