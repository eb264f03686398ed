import { isJsonValue, isWellFormedString } from "./schemas.js";

// The check of a task in a creation request that tree validation makes before zod. Not exported
// from the package: the schema (`taskInputSchema`, schemas.ts) is the public definition.

/**
 * Fields of `taskInputSchema` that `isPlainTaskInput` leaves to zod: a task that sets any of them
 * is checked by the schema.
 */
const SCHEMA_ONLY_FIELDS: ReadonlySet<string> = new Set([
  "retry",
  "runAt",
  "originalTaskId",
  "status",
  "result",
  "error",
  "progress",
  "attempt",
  "startedAt",
  "completedAt",
  "placement",
]);

const isText = (v: unknown, min: number, max = Number.POSITIVE_INFINITY): boolean =>
  typeof v === "string" && v.length >= min && v.length <= max && isWellFormedString(v);

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

const isOptionalJsonObject = (v: unknown): boolean =>
  v === undefined || (v !== null && typeof v === "object" && !Array.isArray(v) && isJsonValue(v));

/**
 * Whether `raw` is a task `taskInputSchema` accepts as it is (its only change would be the trimmed
 * name, which tree validation trims itself), decided without zod for the common shape: plain
 * fields, dependencies, JSON objects. False means "not decided here": the caller asks the schema,
 * which also words the problems. Big trees spend most of their validation in zod otherwise.
 * Keep in step with `taskInputSchema` (schemas.test.ts checks that it never accepts what zod refuses).
 */
export function isPlainTaskInput(raw: unknown): boolean {
  if (!isPlainObject(raw)) return false;
  // The task's own keys are walked (a few), not the ten fields looked up on it.
  for (const key in raw) if (SCHEMA_ONLY_FIELDS.has(key)) return false;
  const { id, name, parentId, userId, priority, dependencies } = raw;
  if (id !== undefined && !isText(id, 1, 200)) return false;
  if (typeof name !== "string" || !isWellFormedString(name)) return false;
  const trimmed = name.trim().length;
  if (trimmed < 1 || trimmed > 200) return false;
  if (parentId !== undefined && parentId !== null && !isText(parentId, 1)) return false;
  if (userId !== undefined && userId !== null && !isText(userId, 0)) return false;
  if (priority !== undefined && priority !== 0 && priority !== 1 && priority !== 2 && priority !== 3) return false;
  if (dependencies !== undefined) {
    if (!Array.isArray(dependencies)) return false;
    for (let i = 0; i < dependencies.length; i++) {
      const dep: unknown = dependencies[i];
      if (typeof dep === "string") {
        if (!isText(dep, 1)) return false;
      } else if (
        !isPlainObject(dep) ||
        !isText(dep.id, 1) ||
        (dep.required !== undefined && typeof dep.required !== "boolean")
      ) {
        return false;
      }
    }
  }
  return (
    isOptionalJsonObject(raw.inputs) &&
    isOptionalJsonObject(raw.params) &&
    isOptionalJsonObject(raw.schemas) &&
    isOptionalJsonObject(raw.metadata)
  );
}
