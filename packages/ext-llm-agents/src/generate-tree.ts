import {
  defineExecutor,
  type ExecutorContext,
  type ExecutorDefinition,
  type ExecutorMetadata,
  type JsonObject,
  NonRetryableError,
  Registry,
  TaskFailure,
  type TaskInput,
  ValidationError,
  type ValidationIssue,
  validateTasks,
} from "@aipartnerupflow/core";
import { generateText, type ModelMessage, NoObjectGeneratedError, Output } from "ai";
import { z } from "zod";
import { LlmErrorCode, toTaskFailure } from "./failures.js";
import { modelField, parseInputs } from "./inputs.js";
import { type ResolvedModel, resolveModel } from "./models.js";
import { toSdkSchema } from "./schema.js";
import type { LlmAgentsOptions, TokenUsage } from "./types.js";
import { addUsage, toTokenUsage, ZERO_USAGE } from "./usage.js";
import { withSdkWarnings } from "./warnings.js";

export const generateTreeInputSchema = z.object({
  requirement: z.string().min(1).describe("What the tree should do, in plain language"),
  model: modelField,
  executors: z
    .array(z.string())
    .optional()
    .describe("Executor ids the tree may use (default: every executor the registry allows)"),
  maxRepairs: z
    .number()
    .int()
    .min(0)
    .max(3)
    .optional()
    .describe("How often invalid output is sent back with its validation errors (default 1)"),
  temperature: z.number().min(0).max(2).optional(),
  maxOutputTokens: z.number().int().positive().optional(),
});
export type GenerateTreeInputs = z.infer<typeof generateTreeInputSchema>;

export interface GenerateTreeResult {
  /** A validated flat task array, ready for `createTree` / `apflow run`. */
  tasks: TaskInput[];
  /** Model calls made: 1, or more when repairs were needed. */
  attempts: number;
  /** Issues of each rejected attempt, in order (empty when the first answer was valid). */
  repairs: Array<{ attempt: number; issues: ValidationIssue[] }>;
  model: string;
  usage: TokenUsage;
  demo?: boolean;
}

/** What the model must answer: a loose shape; the real check is core's tree validation. */
const ANSWER_SCHEMA = {
  type: "object",
  properties: {
    tasks: {
      type: "array",
      items: {
        type: "object",
        properties: {
          name: { type: "string" },
          parentId: { type: "string" },
          dependencies: { type: "array", items: { type: "string" } },
          priority: { type: "integer", minimum: 0, maximum: 3 },
          params: {
            type: "object",
            properties: { executorId: { type: "string" } },
            required: ["executorId"],
          },
          inputs: { type: "object" },
        },
        required: ["name", "params"],
      },
    },
  },
  required: ["tasks"],
} satisfies JsonObject;

/**
 * `generate_tree`: turns a requirement into a task array for the registered executors. The model
 * sees every allowed executor with its input JSON Schema; its answer is validated with core's tree
 * validation (`validateTasks`). An invalid answer is sent back once with the issues
 * (`maxRepairs`); if it is still invalid the task fails with `INVALID_TREE` and the issues as
 * details.
 */
export function createGenerateTreeExecutor(
  options: LlmAgentsOptions = {},
): ExecutorDefinition<GenerateTreeInputs, GenerateTreeResult> {
  return defineExecutor<GenerateTreeInputs, GenerateTreeResult>({
    id: "generate_tree",
    name: "Generate a task tree",
    description:
      "Turns a natural-language requirement into a validated task array for the registered executors (repairs invalid output once).",
    tags: ["llm", "ai", "planning"],
    inputSchema: generateTreeInputSchema,
    cancelable: true,
    demoResult: (inputs) => ({
      tasks: [
        { name: "result", params: { executorId: "aggregate_results" }, dependencies: ["answer"] },
        { name: "answer", parentId: "result", params: { executorId: "llm" }, inputs: { prompt: inputs.requirement } },
      ],
      attempts: 0,
      repairs: [],
      model: inputs.model ?? options.defaultModel ?? "demo",
      usage: ZERO_USAGE,
      demo: true,
    }),
    examples: [
      {
        description: "Plan a small pipeline",
        inputs: { requirement: "Summarise three articles and merge the summaries" },
      },
    ],
    execute: (inputs, ctx) =>
      withSdkWarnings(ctx.log, () => generateTree(parseInputs(generateTreeInputSchema, inputs), ctx, options)),
  });
}

async function generateTree(
  inputs: GenerateTreeInputs,
  ctx: ExecutorContext,
  options: LlmAgentsOptions,
): Promise<GenerateTreeResult> {
  const model = resolveModel(inputs.model, options, ctx);
  const executors = allowedExecutors(ctx, inputs.executors);
  const validator = validationRegistry(ctx, executors);
  const maxRepairs = inputs.maxRepairs ?? 1;
  const messages: ModelMessage[] = [{ role: "user", content: requirementPrompt(inputs.requirement) }];
  const repairs: GenerateTreeResult["repairs"] = [];
  let usage = ZERO_USAGE;
  for (let attempt = 1; ; attempt++) {
    const answer = await ask(model, systemPrompt(executors), messages, inputs, ctx.signal);
    usage = addUsage(usage, answer.usage);
    const issues = answer.tasks ? check(answer.tasks, validator) : answer.issues;
    if (issues.length === 0 && answer.tasks) {
      return { tasks: answer.tasks, attempts: attempt, repairs, model: model.ref, usage };
    }
    repairs.push({ attempt, issues });
    ctx.log.info({ attempt, issues: issues.length }, "generated tree is invalid");
    if (attempt > maxRepairs) {
      throw new TaskFailure(
        LlmErrorCode.InvalidTree,
        `the generated tree is invalid after ${attempt} attempt${attempt > 1 ? "s" : ""}: ${issues.length} issue${issues.length > 1 ? "s" : ""}, first: ${describe(issues[0])}`,
        { details: { issues: issues.map((i) => ({ ...i })), attempts: attempt, usage: { ...usage } } },
      );
    }
    await ctx.reportProgress(attempt / (maxRepairs + 1), `repairing the tree (${issues.length} issues)`);
    messages.push({ role: "assistant", content: answer.text }, { role: "user", content: repairPrompt(issues) });
  }
}

interface Answer {
  text: string;
  tasks: TaskInput[] | null;
  issues: ValidationIssue[];
  usage: TokenUsage;
}

async function ask(
  model: ResolvedModel,
  system: string,
  messages: ModelMessage[],
  inputs: GenerateTreeInputs,
  signal: AbortSignal,
): Promise<Answer> {
  try {
    const result = await generateText({
      model: model.model,
      system,
      messages,
      output: Output.object({ schema: toSdkSchema(ANSWER_SCHEMA), name: "task_tree" }),
      abortSignal: signal,
      temperature: inputs.temperature,
      maxOutputTokens: inputs.maxOutputTokens,
      // Task inputs are free-form objects, which OpenAI's strict JSON Schema mode refuses.
      providerOptions: { openai: { strictJsonSchema: false } },
    });
    const tasks = (result.output as unknown as { tasks: TaskInput[] }).tasks;
    return { text: result.text, tasks, issues: [], usage: toTokenUsage(result.totalUsage) };
  } catch (err) {
    if (NoObjectGeneratedError.isInstance(err) && !signal.aborted) {
      // Not even the answer's shape: also repairable.
      const reason = err.cause instanceof Error ? err.cause.message : err.message;
      return {
        text: err.text ?? "",
        tasks: null,
        issues: [
          { path: "", code: "invalid_answer", message: `the answer is not a JSON object {"tasks": [...]}: ${reason}` },
        ],
        usage: toTokenUsage(err.usage),
      };
    }
    throw toTaskFailure(err, model.secrets, signal);
  }
}

/** Core's tree validation; every issue at once. */
function check(tasks: TaskInput[], registry: Registry): ValidationIssue[] {
  try {
    validateTasks(tasks, { registry });
    return [];
  } catch (err) {
    if (err instanceof ValidationError) return err.errors;
    throw err;
  }
}

function allowedExecutors(ctx: ExecutorContext, only: readonly string[] | undefined): ExecutorMetadata[] {
  const all = ctx.registry.listExecutors();
  if (!only) return all;
  const unknown = only.filter((id) => !all.some((e) => e.id === id));
  if (unknown.length > 0) {
    throw new NonRetryableError(`unknown or disallowed executor ${unknown.map((u) => `"${u}"`).join(", ")}`, {
      code: "INVALID_INPUTS",
    });
  }
  return all.filter((e) => only.includes(e.id));
}

/** A registry holding only the executors the tree may use, so that others count as unknown. */
function validationRegistry(ctx: ExecutorContext, executors: readonly ExecutorMetadata[]): Registry {
  const registry = new Registry();
  for (const meta of executors) {
    const definition = ctx.registry.getExecutor(meta.id);
    if (definition) registry.registerExecutor(definition);
  }
  return registry;
}

function systemPrompt(executors: readonly ExecutorMetadata[]): string {
  const catalogue = executors
    .map((e) =>
      [
        `### ${e.id}`,
        e.description || e.name,
        `input schema: ${JSON.stringify(e.inputSchema ?? { type: "object" })}`,
        ...(e.examples.length > 0 ? [`example inputs: ${JSON.stringify(e.examples[0]?.inputs)}`] : []),
      ].join("\n"),
    )
    .join("\n\n");
  return `You design task trees for the aipartnerupflow task engine. Answer with a JSON object {"tasks": [...]}: a flat array of tasks.

Rules:
- Every task has a unique "name" (tasks refer to each other by name), "params": {"executorId": "<one of the executors below>"} and "inputs" matching that executor's input schema.
- Exactly one root task has no "parentId"; every other task has "parentId" set to the name of its parent, and every task is reachable from the root.
- "dependencies" lists the names of tasks whose results a task needs; a task runs only after them. Parent/child never orders execution, only dependencies do. No cycles, no self-dependency.
- A dependency's result is merged into the dependent's inputs: keys the executor's input schema declares are filled from same-named keys of the result; otherwise the whole result lands at inputs["<dependency name>"]. Inputs filled this way may be left out.
- "priority" is optional: 0 urgent, 1 high, 2 normal (default), 3 low.
- Use only the executors listed here.

Executors:
${catalogue}`;
}

function requirementPrompt(requirement: string): string {
  return `Requirement:\n${requirement}\n\nAnswer with the JSON object only.`;
}

function repairPrompt(issues: readonly ValidationIssue[]): string {
  return `That tree is invalid. Validation found these problems:\n${issues.map((i) => `- ${describe(i)}`).join("\n")}\n\nAnswer with the complete corrected JSON object {"tasks": [...]}.`;
}

function describe(issue: ValidationIssue | undefined): string {
  if (!issue) return "unknown problem";
  return `${issue.path ? `${issue.path}: ` : ""}${issue.message} (${issue.code})`;
}
