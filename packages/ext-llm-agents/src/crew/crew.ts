import { defineExecutor, type ExecutorContext, type ExecutorDefinition } from "@aipartnerupflow/core";
import { parseInputs } from "../inputs.js";
import { McpConnections } from "../mcp-tools.js";
import type { LlmAgentsOptions, TokenUsage } from "../types.js";
import { ZERO_USAGE } from "../usage.js";
import type { CrewEnvironment } from "./environment.js";
import { runHierarchical } from "./hierarchical.js";
import { CrewRecorder, type CrewStep, type CrewTaskOutcome } from "./recorder.js";
import { agentIdOf, type CrewInputs, crewInputSchema, findAgent, taskIdOf } from "./schema.js";
import { runSequential } from "./sequential.js";
import { withSdkWarnings } from "../warnings.js";

export interface CrewResult {
  /** The output of the last completed crew task (null when none completed). */
  output: string | null;
  process: "sequential" | "hierarchical";
  /** Every crew task in order, with its status and output. */
  tasks: CrewTaskOutcome[];
  /** Every unit of work in the order it finished. */
  steps: CrewStep[];
  /** Total token usage of every model call of the crew, manager included. */
  usage: TokenUsage;
  usageByAgent: Record<string, TokenUsage>;
  /** Set when the task was cancelled: `tasks` and `steps` hold what finished before. */
  cancelled?: boolean;
  demo?: boolean;
}

/**
 * `crew`: several agents (role, goal, backstory, model, tools) work through a list of crew tasks,
 * `sequential` (each task by its agent, outputs flowing as context) or `hierarchical` (a manager
 * delegates and reviews).
 *
 * Cancellation: `ctx.signal` aborts the model call in flight and no further crew task starts.
 * The executor then *returns* (does not throw) the partial result with `cancelled: true`; the
 * engine stores it as the cancelled task's result, so finished steps and their usage are kept.
 */
export function createCrewExecutor(options: LlmAgentsOptions = {}): ExecutorDefinition<CrewInputs, CrewResult> {
  return defineExecutor<CrewInputs, CrewResult>({
    id: "crew",
    name: "Multi-agent crew",
    description:
      "Several role-playing agents work through a list of tasks, sequentially or under a manager agent that delegates and reviews; returns each step's output and total token usage.",
    tags: ["llm", "ai", "agent", "crew"],
    inputSchema: crewInputSchema,
    cancelable: true,
    demoResult: demoCrewResult,
    examples: [
      {
        description: "Research, then write",
        inputs: {
          agents: [
            { id: "researcher", role: "Researcher", goal: "Find the key facts" },
            { id: "writer", role: "Writer", goal: "Write clear summaries" },
          ],
          tasks: [
            {
              id: "research",
              description: "List 3 facts about solar power",
              expectedOutput: "3 bullet points",
              agent: "researcher",
            },
            {
              id: "write",
              description: "Write a paragraph from the facts",
              expectedOutput: "One paragraph",
              agent: "writer",
            },
          ],
        },
      },
    ],
    execute: (inputs, ctx) => withSdkWarnings(ctx.log, () => runCrew(inputs, ctx, options)),
  });
}

async function runCrew(inputs: CrewInputs, ctx: ExecutorContext, options: LlmAgentsOptions): Promise<CrewResult> {
  const spec = parseInputs(crewInputSchema, inputs);
  const env: CrewEnvironment = {
    spec,
    ctx,
    options,
    mcp: new McpConnections(options, ctx),
    recorder: new CrewRecorder(),
    outputs: new Map(),
  };
  try {
    const tasks = spec.process === "hierarchical" ? await runHierarchical(env) : await runSequential(env);
    const completed = tasks.filter((t) => t.status === "completed");
    const result: CrewResult = {
      output: completed.at(-1)?.output ?? null,
      process: spec.process,
      tasks,
      steps: env.recorder.steps,
      usage: env.recorder.usage,
      usageByAgent: env.recorder.usageByAgent,
    };
    if (ctx.signal.aborted || tasks.some((t) => t.status !== "completed")) result.cancelled = true;
    return result;
  } finally {
    await env.mcp.close();
  }
}

function demoCrewResult(inputs: CrewInputs): CrewResult {
  const process = inputs.process ?? "sequential";
  const tasks: CrewTaskOutcome[] = inputs.tasks.map((task, index) => {
    const agent = task.agent ? findAgent(inputs.agents, task.agent) : inputs.agents[0];
    return {
      id: taskIdOf(task, index),
      description: task.description,
      agent: process === "hierarchical" ? "manager" : agent ? agentIdOf(agent) : null,
      status: "completed",
      output: `[demo] ${task.expectedOutput}`,
    };
  });
  const steps: CrewStep[] = tasks.map((t) => ({
    kind: process === "hierarchical" ? "manager" : "task",
    taskId: t.id,
    agent: t.agent ?? "demo",
    output: t.output ?? "",
    toolCalls: 0,
    usage: ZERO_USAGE,
  }));
  return {
    output: tasks.at(-1)?.output ?? null,
    process,
    tasks,
    steps,
    usage: ZERO_USAGE,
    usageByAgent: {},
    demo: true,
  };
}
