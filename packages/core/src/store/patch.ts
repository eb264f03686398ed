import { z } from "zod";
import { ValidationError } from "../errors.js";
import { zodIssues } from "../schema/schema.js";
import { retryPolicySchema, taskNameSchema, prioritySchema, jsonObjectSchema, isoDateSchema } from "../task/schemas.js";
import type { TaskPatch } from "./types.js";

const taskPatchSchema = z
  .object({
    name: taskNameSchema,
    inputs: jsonObjectSchema,
    params: jsonObjectSchema,
    schemas: jsonObjectSchema,
    priority: prioritySchema,
    metadata: jsonObjectSchema,
    retry: retryPolicySchema.nullable(),
    runAt: isoDateSchema.nullable(),
  })
  .partial()
  .strict();

/** Validate an update; every store calls this so that they refuse the same things. */
export function validatePatch(patch: TaskPatch): TaskPatch {
  const parsed = taskPatchSchema.safeParse(patch);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error));
  return parsed.data as TaskPatch;
}
