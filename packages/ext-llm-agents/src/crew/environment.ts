import type { ExecutorContext } from "@aipartnerupflow/core";
import { DEFAULT_MAX_STEPS } from "../inputs.js";
import type { McpConnections } from "../mcp-tools.js";
import { resolveModel } from "../models.js";
import { type AgentRunResult, runAgent } from "../run-agent.js";
import { registryTools, type SdkToolSet } from "../tools.js";
import type { LlmAgentsOptions } from "../types.js";
import type { ContextEntry } from "./prompts.js";
import { agentSystemPrompt } from "./prompts.js";
import { countToolCalls, type CrewRecorder, type CrewStep } from "./recorder.js";
import { type CrewAgent, type CrewSpec, type CrewTaskSpec, taskIdOf } from "./schema.js";

/** Everything one crew run shares: the spec, the task context, MCP connections and the recorder. */
export interface CrewEnvironment {
  spec: CrewSpec;
  ctx: ExecutorContext;
  options: LlmAgentsOptions;
  mcp: McpConnections;
  recorder: CrewRecorder;
  /** Outputs of finished crew tasks, by task id. */
  outputs: Map<string, string>;
}

/** Run one agent on one prompt with its own tools, and record the step. */
export async function runCrewAgent(
  env: CrewEnvironment,
  agent: CrewAgent & { id: string },
  prompt: string,
  step: Pick<CrewStep, "kind" | "taskId" | "input">,
  extraTools: SdkToolSet = {},
  system: string = agentSystemPrompt(agent),
): Promise<AgentRunResult> {
  const { spec, ctx, options } = env;
  const model = resolveModel(agent.model ?? spec.model, options, ctx);
  const tools = { ...registryTools(agent.tools, ctx), ...(await env.mcp.toolsFor(agent.mcp)), ...extraTools };
  const run = await runAgent({
    model,
    system,
    prompt,
    tools,
    maxSteps: agent.maxSteps ?? DEFAULT_MAX_STEPS,
    signal: ctx.signal,
    temperature: spec.temperature,
    maxOutputTokens: spec.maxOutputTokens,
  });
  const record: CrewStep = {
    ...step,
    agent: agent.id,
    output: run.text,
    toolCalls: countToolCalls(run.steps),
    usage: run.usage,
  };
  if (step.input === undefined) delete record.input;
  if (run.cancelled) record.cancelled = true;
  env.recorder.record(record);
  return run;
}

/** The context a crew task receives: the listed tasks' outputs, by default the previous task's. */
export function contextFor(env: CrewEnvironment, task: CrewTaskSpec, index: number): ContextEntry[] {
  const refs = task.context ?? (index > 0 ? [taskIdOf(env.spec.tasks[index - 1] as CrewTaskSpec, index - 1)] : []);
  return refs.flatMap((taskId) => {
    const output = env.outputs.get(taskId);
    return output === undefined ? [] : [{ taskId, output }];
  });
}
