import {
  compileSchema,
  defineExecutor,
  type ExecutorContext,
  type ExecutorDefinition,
  type JsonValue,
} from "@aipartnerupflow/core";
import { Output, streamText } from "ai";
import { z } from "zod";
import { exampleFromSchema } from "./demo.js";
import { isAbort, toTaskFailure } from "./failures.js";
import {
  asSchemaLike,
  generationFields,
  messageSchema,
  modelField,
  parseInputs,
  schemaLikeField,
  toModelMessages,
} from "./inputs.js";
import { resolveModel } from "./models.js";
import { ProgressStream } from "./progress.js";
import { toSdkSchema } from "./schema.js";
import type { LlmAgentsOptions, TokenUsage } from "./types.js";
import { toTokenUsage, ZERO_USAGE } from "./usage.js";
import { withSdkWarnings } from "./warnings.js";

export const llmInputSchema = z
  .object({
    model: modelField,
    system: z.string().optional().describe("System instructions"),
    prompt: z.string().optional().describe("The user prompt (or give messages)"),
    messages: z.array(messageSchema).optional().describe("A conversation instead of a prompt"),
    schema: schemaLikeField
      .optional()
      .describe("JSON Schema of a structured answer; the result then holds `object` instead of `text`"),
    schemaName: z.string().optional(),
    ...generationFields,
  })
  .refine((v) => v.prompt !== undefined || (v.messages !== undefined && v.messages.length > 0), {
    message: "give a prompt or messages",
    path: ["prompt"],
  });
export type LlmInputs = z.infer<typeof llmInputSchema>;

export interface LlmResult {
  /** The answer (in structured mode: the raw JSON text the model produced). */
  text: string;
  /** Structured mode only: the validated object. */
  object?: JsonValue;
  model: string;
  usage: TokenUsage;
  finishReason: string;
  /** Set when the task was cancelled mid-stream: `text` is what had arrived. */
  cancelled?: boolean;
  demo?: boolean;
}

/**
 * `llm`: one model call. Text deltas are streamed to `task.progress` events (message = the new
 * text, rate-limited); with `schema` the answer is validated and returned as `object`
 * (`INVALID_OUTPUT` when it does not match). Cancellation aborts the request and returns the
 * text received so far with `cancelled: true`.
 */
export function createLlmExecutor(options: LlmAgentsOptions = {}): ExecutorDefinition<LlmInputs, LlmResult> {
  return defineExecutor<LlmInputs, LlmResult>({
    id: "llm",
    name: "LLM call",
    description:
      "Calls a language model with a prompt or messages and returns its text, or a structured object validated against a JSON Schema.",
    tags: ["llm", "ai"],
    inputSchema: llmInputSchema,
    cancelable: true,
    demoResult: (inputs) => {
      const model = inputs.model ?? options.defaultModel ?? "demo";
      if (inputs.schema) {
        const object = exampleFromSchema(compileSchema(asSchemaLike(inputs.schema)).json);
        return { text: JSON.stringify(object), object, model, usage: ZERO_USAGE, finishReason: "stop", demo: true };
      }
      const about = (inputs.prompt ?? inputs.messages?.at(-1)?.content ?? "").slice(0, 80);
      return { text: `[demo] answer to: ${about}`, model, usage: ZERO_USAGE, finishReason: "stop", demo: true };
    },
    examples: [{ description: "Summarise a text", inputs: { model: "openai:gpt-4o-mini", prompt: "Summarise: ..." } }],
    execute: (inputs, ctx) => withSdkWarnings(ctx.log, () => runLlm(parseInputs(llmInputSchema, inputs), ctx, options)),
  });
}

export async function runLlm(inputs: LlmInputs, ctx: ExecutorContext, options: LlmAgentsOptions): Promise<LlmResult> {
  const resolved = resolveModel(inputs.model, options, ctx);
  ctx.log.debug({ model: resolved.ref, structured: inputs.schema !== undefined }, "llm call");
  const progress = new ProgressStream(ctx, options.progressIntervalMs ?? 250);
  const output = inputs.schema
    ? Output.object({ schema: toSdkSchema(asSchemaLike(inputs.schema)), name: inputs.schemaName })
    : undefined;
  let received = "";
  let streamError: unknown;
  try {
    const result = streamText({
      model: resolved.model,
      system: inputs.system,
      ...(inputs.messages ? { messages: toModelMessages(inputs.messages) } : { prompt: inputs.prompt ?? "" }),
      output,
      // User schemas often have free-form objects, which OpenAI's strict mode refuses; we validate ourselves.
      providerOptions: output ? { openai: { strictJsonSchema: false } } : undefined,
      abortSignal: ctx.signal,
      temperature: inputs.temperature,
      maxOutputTokens: inputs.maxOutputTokens,
      onError: ({ error }) => {
        streamError ??= error;
      },
    });
    for await (const part of result.fullStream) {
      if (part.type === "text-delta") {
        received += part.text;
        progress.push(part.text);
      } else if (part.type === "error") {
        streamError ??= part.error;
      }
    }
    await progress.flush();
    if (streamError !== undefined) throw streamError;
    const [text, usage, finishReason] = await Promise.all([result.text, result.totalUsage, result.finishReason]);
    const base = { text, model: resolved.ref, usage: toTokenUsage(usage), finishReason };
    if (!output) return base;
    return { ...base, object: (await result.output) as JsonValue };
  } catch (err) {
    if (isAbort(err, ctx.signal)) {
      await progress.flush();
      return { text: received, model: resolved.ref, usage: ZERO_USAGE, finishReason: "cancelled", cancelled: true };
    }
    throw toTaskFailure(err, resolved.secrets);
  }
}
