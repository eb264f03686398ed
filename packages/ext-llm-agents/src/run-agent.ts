import type { JsonValue } from "@aipartnerupflow/core";
import { generateText, type ModelMessage, type StepResult, stepCountIs, type ToolSet } from "ai";
import { isAbort, toTaskFailure } from "./failures.js";
import type { ResolvedModel } from "./models.js";
import type { SdkToolSet } from "./tools.js";
import type { TokenUsage } from "./types.js";
import { addUsage, toTokenUsage, ZERO_USAGE } from "./usage.js";

/** One model call of a tool loop, as recorded in results. */
export interface AgentStepRecord {
  step: number;
  text: string;
  toolCalls: Array<{ toolCallId: string; tool: string; input: JsonValue }>;
  toolResults: Array<{ toolCallId: string; tool: string; output?: JsonValue; error?: string }>;
  finishReason: string;
  usage: TokenUsage;
}

export interface AgentRunResult {
  text: string;
  steps: AgentStepRecord[];
  usage: TokenUsage;
  finishReason: string;
  /** True when `signal` fired: `steps` holds the steps finished before. */
  cancelled: boolean;
}

export interface AgentRunRequest {
  model: ResolvedModel;
  system?: string;
  prompt?: string;
  messages?: ModelMessage[];
  tools: SdkToolSet;
  maxSteps: number;
  signal: AbortSignal;
  temperature?: number;
  maxOutputTokens?: number;
  /** Called after each finished step (progress reporting, crew bookkeeping). */
  onStep?: (step: AgentStepRecord) => void | Promise<void>;
}

/**
 * A tool-calling loop: the model calls tools until it answers with text or `maxSteps` model calls
 * were made (`stopWhen: stepCountIs`). Cancellation returns what finished (`cancelled: true`);
 * every other error becomes a `TaskFailure` with secrets scrubbed.
 */
export async function runAgent(request: AgentRunRequest): Promise<AgentRunResult> {
  const steps: AgentStepRecord[] = [];
  const hasTools = Object.keys(request.tools).length > 0;
  const prompt = request.messages ? { messages: request.messages } : { prompt: request.prompt ?? "" };
  try {
    const result = await generateText({
      model: request.model.model,
      system: request.system,
      ...prompt,
      tools: hasTools ? request.tools : undefined,
      stopWhen: stepCountIs(request.maxSteps),
      abortSignal: request.signal,
      temperature: request.temperature,
      maxOutputTokens: request.maxOutputTokens,
      onStepFinish: async (step) => {
        const record = toStepRecord(step, steps.length + 1);
        steps.push(record);
        await request.onStep?.(record);
      },
    });
    return {
      text: result.text,
      steps,
      usage: toTokenUsage(result.totalUsage),
      finishReason: result.finishReason,
      cancelled: false,
    };
  } catch (err) {
    if (isAbort(err, request.signal)) {
      return {
        text: steps.at(-1)?.text ?? "",
        steps,
        usage: addUsage(ZERO_USAGE, ...steps.map((s) => s.usage)),
        finishReason: "cancelled",
        cancelled: true,
      };
    }
    throw toTaskFailure(err, request.model.secrets);
  }
}

function toStepRecord(step: StepResult<ToolSet>, index: number): AgentStepRecord {
  const record: AgentStepRecord = {
    step: index,
    text: step.text,
    toolCalls: [],
    toolResults: [],
    finishReason: step.finishReason,
    usage: toTokenUsage(step.usage),
  };
  for (const part of step.content) {
    if (part.type === "tool-call") {
      record.toolCalls.push({ toolCallId: part.toolCallId, tool: part.toolName, input: toJson(part.input) });
    } else if (part.type === "tool-result") {
      record.toolResults.push({ toolCallId: part.toolCallId, tool: part.toolName, output: toJson(part.output) });
    } else if (part.type === "tool-error") {
      const error = part.error instanceof Error ? part.error.message : String(part.error);
      record.toolResults.push({ toolCallId: part.toolCallId, tool: part.toolName, error });
    }
  }
  return record;
}

/** Tool inputs and outputs are arbitrary values; results must be JSON. */
export function toJson(value: unknown): JsonValue {
  if (value === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(value)) as JsonValue;
  } catch {
    return String(value);
  }
}
