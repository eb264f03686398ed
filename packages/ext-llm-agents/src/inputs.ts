import { NonRetryableError, type SchemaLike, TaskErrorCode, zodIssues } from "@aipartnerupflow/core";
import type { ModelMessage } from "ai";
import { z } from "zod";

/** Input fields shared by the executors that call a model. */

export const modelField = z
  .string()
  .min(1)
  .describe(
    "Model reference `<provider>:<model>`: openai:gpt-4o-mini, anthropic:claude-3-5-haiku-latest, compatible:llama3",
  )
  .optional();

export const messageSchema = z.object({
  role: z.enum(["system", "user", "assistant"]),
  content: z.string(),
});
export type ChatMessage = z.infer<typeof messageSchema>;

export const generationFields = {
  temperature: z.number().min(0).max(2).optional(),
  maxOutputTokens: z.number().int().positive().optional(),
};

/** A zod schema passed programmatically, or a JSON Schema object (the only form JSON inputs can carry). */
export const schemaLikeField = z.union([
  z.custom<z.ZodType>((value) => value instanceof z.ZodType, { message: "expected a zod schema" }),
  z.record(z.string(), z.unknown()),
]);

export function asSchemaLike(value: z.infer<typeof schemaLikeField>): SchemaLike {
  return value as SchemaLike;
}

/** Our plain `{role, content}` messages are valid AI SDK model messages. */
export function toModelMessages(messages: readonly ChatMessage[]): ModelMessage[] {
  return messages.map((m) => ({ role: m.role, content: m.content }));
}

export const DEFAULT_MAX_STEPS = 10;
export const MAX_STEPS_LIMIT = 100;

const mcpServerFields = {
  name: z.string().min(1),
  tools: z.array(z.string()).optional(),
};

/** `{ server, tools? }` names a configured server; inline definitions need `allowInlineMcpServers`. */
export const mcpUseSchema = z.union([
  z.object({ server: z.string().min(1), tools: z.array(z.string()).optional() }),
  z.object({
    ...mcpServerFields,
    transport: z.literal("stdio"),
    command: z.string().min(1),
    args: z.array(z.string()).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().optional(),
  }),
  z.object({
    ...mcpServerFields,
    transport: z.literal("http"),
    url: z.string().url(),
    headers: z.record(z.string(), z.string()).optional(),
  }),
]);

export const toolFields = {
  tools: z
    .array(z.string())
    .optional()
    .describe('Registry tool ids the agent may call (the allow-list); ["*"] allows every registered tool'),
  mcp: z
    .array(mcpUseSchema)
    .optional()
    .describe("MCP servers whose tools the agent may call, each with an optional tool allow-list"),
  maxSteps: z
    .number()
    .int()
    .min(1)
    .max(MAX_STEPS_LIMIT)
    .optional()
    .describe("Most model calls in the tool loop (default 10)"),
};

/**
 * Parse an executor's inputs. The engine validates them before the executor runs; this covers
 * direct calls and applies defaults. Every issue is listed in the failure's details.
 */
export function parseInputs<S extends z.ZodType>(schema: S, inputs: unknown): z.output<S> {
  const parsed = schema.safeParse(inputs);
  if (parsed.success) return parsed.data;
  const errors = zodIssues(parsed.error, "inputs");
  const summary = errors.map((e) => `${e.path}: ${e.message}`).join("; ");
  throw new NonRetryableError(`invalid inputs: ${summary}`, {
    code: TaskErrorCode.InvalidInputs,
    details: { errors: errors.map((e) => ({ ...e })) },
  });
}
