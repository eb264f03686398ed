import { defineExecutor, type ExecutorContext, type ExecutorDefinition } from "@aipartnerupflow/core";
import { z } from "zod";
import {
  DEFAULT_MAX_STEPS,
  generationFields,
  messageSchema,
  modelField,
  parseInputs,
  toModelMessages,
  toolFields,
} from "./inputs.js";
import { McpConnections } from "./mcp-tools.js";
import { resolveModel } from "./models.js";
import { type AgentStepRecord, runAgent } from "./run-agent.js";
import { registryTools } from "./tools.js";
import type { LlmAgentsOptions, TokenUsage } from "./types.js";
import { ZERO_USAGE } from "./usage.js";
import { withSdkWarnings } from "./warnings.js";

export const agentInputSchema = z
  .object({
    model: modelField,
    system: z.string().optional().describe("Instructions: who the agent is and how it works"),
    prompt: z.string().optional().describe("The job to do (or give messages)"),
    messages: z.array(messageSchema).optional(),
    ...toolFields,
    ...generationFields,
  })
  .refine((v) => v.prompt !== undefined || (v.messages !== undefined && v.messages.length > 0), {
    message: "give a prompt or messages",
    path: ["prompt"],
  });
export type AgentInputs = z.infer<typeof agentInputSchema>;

export interface AgentResult {
  text: string;
  steps: AgentStepRecord[];
  usage: TokenUsage;
  model: string;
  finishReason: string;
  /** Set when cancelled: `steps` holds the model calls that finished. */
  cancelled?: boolean;
  demo?: boolean;
}

/**
 * `agent`: a tool-calling loop over registry tools and MCP server tools, at most `maxSteps` model
 * calls. Each finished step is reported as progress. Cancellation returns the finished steps.
 */
export function createAgentExecutor(options: LlmAgentsOptions = {}): ExecutorDefinition<AgentInputs, AgentResult> {
  return defineExecutor<AgentInputs, AgentResult>({
    id: "agent",
    name: "Tool-using agent",
    description:
      "Runs a language model in a tool-calling loop (registry tools and MCP server tools, with allow-lists) until it answers or reaches maxSteps.",
    tags: ["llm", "ai", "agent"],
    inputSchema: agentInputSchema,
    cancelable: true,
    demoResult: (inputs) => ({
      text: `[demo] agent result for: ${(inputs.prompt ?? inputs.messages?.at(-1)?.content ?? "").slice(0, 80)}`,
      steps: [],
      usage: ZERO_USAGE,
      model: inputs.model ?? options.defaultModel ?? "demo",
      finishReason: "stop",
      demo: true,
    }),
    examples: [
      {
        description: "Answer with the help of a registered tool",
        inputs: { prompt: "What is the weather in Paris?", tools: ["weather"], maxSteps: 5 },
      },
    ],
    execute: (inputs, ctx) =>
      withSdkWarnings(ctx.log, () => runAgentTask(parseInputs(agentInputSchema, inputs), ctx, options)),
  });
}

async function runAgentTask(
  inputs: AgentInputs,
  ctx: ExecutorContext,
  options: LlmAgentsOptions,
): Promise<AgentResult> {
  const resolved = resolveModel(inputs.model, options, ctx);
  const maxSteps = inputs.maxSteps ?? DEFAULT_MAX_STEPS;
  const mcp = new McpConnections(options, ctx);
  try {
    const tools = { ...registryTools(inputs.tools, ctx), ...(await mcp.toolsFor(inputs.mcp)) };
    ctx.log.debug({ model: resolved.ref, tools: Object.keys(tools), maxSteps }, "agent start");
    const run = await runAgent({
      model: resolved,
      system: inputs.system,
      prompt: inputs.prompt,
      messages: inputs.messages ? toModelMessages(inputs.messages) : undefined,
      tools,
      maxSteps,
      signal: ctx.signal,
      temperature: inputs.temperature,
      maxOutputTokens: inputs.maxOutputTokens,
      onStep: (step) => ctx.reportProgress(Math.min(step.step / maxSteps, 0.99), stepMessage(step)),
    });
    const result: AgentResult = {
      text: run.text,
      steps: run.steps,
      usage: run.usage,
      model: resolved.ref,
      finishReason: run.finishReason,
    };
    if (run.cancelled) result.cancelled = true;
    return result;
  } finally {
    await mcp.close();
  }
}

function stepMessage(step: AgentStepRecord): string {
  const calls = step.toolCalls.map((c) => c.tool);
  return calls.length > 0 ? `step ${step.step}: called ${calls.join(", ")}` : `step ${step.step}: answered`;
}
