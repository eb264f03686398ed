import { z } from "zod";
import { ApflowError, ErrorCode, TaskErrorCode, TaskFailure, ValidationError } from "../errors.js";
import { checkSchema, compileSchema } from "../schema/schema.js";
import type { JsonObject, JsonValue, Task, TaskWait, WaitAnswer, WaitSpec } from "../types.js";

/**
 * Waiting tasks (docs/semantics.md#waiting): what `ctx.waitFor` accepts, the signal it throws to
 * end the run as "waiting", and the checks an answer passes before a store records it.
 */

const waitSpecSchema = z
  .object({
    prompt: z.string().min(1).max(10_000),
    schema: z.record(z.string(), z.unknown()).optional(),
    event: z.string().min(1).max(200).optional(),
    key: z.string().min(1).max(500).optional(),
    timeoutMs: z.number().int().positive().optional(),
    onTimeout: z.enum(["fail", "resume"]).optional(),
    approvers: z.array(z.string().min(1)).max(1000).optional(),
    required: z.number().int().positive().max(1000).optional(),
  })
  .strict()
  .refine((s) => s.key === undefined || s.event !== undefined, { message: "key needs event", path: ["key"] });

/** Thrown by `ctx.waitFor`: the engine ends the run with the outcome `waiting`. */
export class WaitRequest extends Error {
  constructor(readonly spec: WaitSpec) {
    super(`waiting: ${spec.prompt}`);
    this.name = "WaitRequest";
  }
}

/** A valid wait request (drops undefined fields), or a non-retryable `INVALID_WAIT` failure. */
export function parseWaitSpec(spec: unknown): WaitSpec {
  const parsed = waitSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TaskFailure(
      TaskErrorCode.InvalidWait,
      `invalid waitFor: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
      { retryable: false },
    );
  }
  if (parsed.data.schema !== undefined) {
    try {
      compileSchema(parsed.data.schema as JsonObject);
    } catch (err) {
      throw new TaskFailure(TaskErrorCode.InvalidWait, `invalid waitFor: schema: ${(err as Error).message}`, {
        retryable: false,
      });
    }
  }
  const out: WaitSpec = { prompt: parsed.data.prompt };
  for (const [k, v] of Object.entries(parsed.data))
    if (v !== undefined) (out as unknown as JsonObject)[k] = v as JsonValue;
  return out;
}

/** The wait a task stores when it starts waiting at `at`. */
export function openWait(spec: WaitSpec, at: Date): TaskWait {
  const { timeoutMs, ...rest } = spec;
  const wait: TaskWait = { ...rest, since: at.toISOString(), answers: [] };
  if (timeoutMs !== undefined) wait.deadline = new Date(at.getTime() + timeoutMs).toISOString();
  return wait;
}

/** What a resumed run sees: the last answer's input, every answer, and whether the deadline ended it. */
export interface ResumeState {
  input: JsonValue | undefined;
  answers: WaitAnswer[];
  timedOut: boolean;
}

/** The resume state of a claimed task, or null when it does not run after a wait. */
export function resumeStateOf(task: Pick<Task, "wait">): ResumeState | null {
  const wait = task.wait;
  if (!wait || wait.resumedAt === undefined) return null;
  const last = wait.answers[wait.answers.length - 1];
  return { input: wait.timedOut ? undefined : last?.input, answers: wait.answers, timedOut: wait.timedOut === true };
}

/**
 * Check an answer against the wait's JSON Schema: a `ValidationError` (-32602) naming the field
 * (paths start with `input`).
 */
export function checkAnswer(wait: TaskWait, input: unknown): JsonValue {
  if (wait.schema === undefined) return (input ?? null) as JsonValue;
  const check = checkSchema<JsonValue>(compileSchema(wait.schema).zod, input, "input");
  if (!check.ok) throw new ValidationError(check.issues);
  return input as JsonValue;
}

/** Whether `userId` may answer the wait (admins always may; the caller checks access to the task first). */
export function mayAnswer(wait: TaskWait, userId: string | null, admin: boolean): boolean {
  if (admin || wait.approvers === undefined || wait.approvers.length === 0) return true;
  return userId !== null && wait.approvers.includes(userId);
}

export function notWaitingError(taskId: string, status: string): ApflowError {
  return new ApflowError(ErrorCode.InvalidTransition, `task ${taskId} is ${status}, not waiting: nothing to resume`, {
    taskId,
    status,
  });
}
