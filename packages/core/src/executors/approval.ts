import { z } from "zod";
import { TaskErrorCode, TaskFailure } from "../errors.js";
import { defineExecutor } from "../registry/define.js";
import type { JsonObject, JsonValue, WaitAnswer } from "../types.js";

/**
 * `approval` (docs/semantics.md#waiting): waits until `required` of the listed `approvers` (any
 * user who may answer the task when none are listed) approve. An answer is `{approved, comment?}`
 * plus the fields of `schema`; one rejection ends the wait and fails the task with `REJECTED`
 * (its dependents cascade) unless `onReject: "complete"`. On timeout: fail, approve or reject.
 */
const inputSchema = z
  .object({
    prompt: z.string().min(1),
    schema: z.record(z.string(), z.unknown()).optional(),
    approvers: z.array(z.string().min(1)).min(1).optional(),
    required: z.number().int().positive().optional(),
    timeoutMs: z.number().int().positive().optional(),
    onTimeout: z.enum(["fail", "approve", "reject"]).default("fail"),
    onReject: z.enum(["fail", "complete"]).default("fail"),
  })
  .refine((i) => i.approvers === undefined || (i.required ?? 1) <= i.approvers.length, {
    message: "required is more than the approvers listed",
    path: ["required"],
  });

type ApprovalInputs = z.output<typeof inputSchema>;

export interface ApprovalResult {
  approved: boolean;
  by: Array<{ userId: string | null; at: string; input: JsonValue }>;
  input: JsonValue;
  timedOut?: boolean;
}

/** The JSON Schema of an answer: `{approved, comment?}` and the fields of the task's own schema. */
export function approvalAnswerSchema(schema: JsonObject | undefined): JsonObject {
  const own = (schema?.properties ?? {}) as JsonObject;
  const required = Array.isArray(schema?.required) ? (schema.required as string[]) : [];
  return {
    type: "object",
    properties: { approved: { type: "boolean" }, comment: { type: "string" }, ...own },
    required: ["approved", ...required.filter((r) => r !== "approved")],
  };
}

function byOf(answers: readonly WaitAnswer[]): ApprovalResult["by"] {
  return answers.map((a) => ({ userId: a.by, at: a.at, input: a.input }));
}

function rejected(inputs: ApprovalInputs, result: ApprovalResult): ApprovalResult {
  if (inputs.onReject === "complete") return result;
  const who = result.by.find((b) => (b.input as JsonObject | null)?.approved === false)?.userId;
  throw new TaskFailure(
    TaskErrorCode.Rejected,
    result.timedOut ? "rejected: no answer in time" : `rejected${who ? ` by ${who}` : ""}`,
    { details: result as unknown as JsonValue, retryable: false },
  );
}

export const approval = defineExecutor<ApprovalInputs, ApprovalResult>({
  id: "approval",
  name: "Approval",
  description:
    "Waits for people to approve (N of the listed approvers); a rejection fails the task with REJECTED. Answer with tasks.resume {approved, comment?}.",
  tags: ["core", "human"],
  cancelable: true,
  inputSchema,
  demoResult: { approved: true, by: [], input: null },
  examples: [{ description: "One approval", inputs: { prompt: "Refund order 1234 (120 EUR)?" } }],
  execute(inputs, ctx) {
    const resume = ctx.resume;
    if (resume === null) {
      return ctx.waitFor({
        prompt: inputs.prompt,
        schema: approvalAnswerSchema(inputs.schema as JsonObject | undefined),
        ...(inputs.approvers ? { approvers: inputs.approvers } : {}),
        ...(inputs.required ? { required: inputs.required } : {}),
        ...(inputs.timeoutMs ? { timeoutMs: inputs.timeoutMs } : {}),
        onTimeout: inputs.onTimeout === "fail" ? "fail" : "resume",
      });
    }
    const by = byOf(resume.answers);
    if (resume.timedOut) {
      const result: ApprovalResult = { approved: inputs.onTimeout === "approve", by, input: null, timedOut: true };
      return result.approved ? result : rejected(inputs, result);
    }
    const input = resume.input ?? null;
    const no = resume.answers.find((a) => (a.input as JsonObject | null)?.approved === false);
    if (no) return rejected(inputs, { approved: false, by, input: no.input });
    return { approved: true, by, input };
  },
});
