import { tool } from "ai";
import { z } from "zod";
import type { CrewEnvironment } from "./environment.js";
import { contextFor, runCrewAgent } from "./environment.js";
import { agentSystemPrompt, DEFAULT_MANAGER, managerTaskPrompt } from "./prompts.js";
import type { CrewTaskOutcome } from "./recorder.js";
import { agentIdOf, type CrewAgent, findAgent, taskIdOf } from "./schema.js";

export const MANAGER_ID = "manager";

/**
 * Hierarchical process: for each crew task a manager agent delegates work to coworkers through a
 * `delegate_work` tool, reviews what comes back (it may delegate again with feedback), and its
 * final answer is the task's output. Coworker runs are recorded as `delegation` steps, the
 * manager's answer as a `manager` step; usage counts both.
 */
export async function runHierarchical(env: CrewEnvironment): Promise<CrewTaskOutcome[]> {
  const { spec, ctx } = env;
  const coworkers = spec.agents.map((a) => ({ ...a, id: agentIdOf(a) }));
  const manager: CrewAgent & { id: string } = {
    id: MANAGER_ID,
    role: spec.manager?.role ?? DEFAULT_MANAGER.role,
    goal: spec.manager?.goal ?? DEFAULT_MANAGER.goal,
    backstory: spec.manager?.backstory ?? DEFAULT_MANAGER.backstory,
    model: spec.manager?.model,
    maxSteps: spec.manager?.maxSteps,
  };
  const outcomes: CrewTaskOutcome[] = [];
  for (const [index, task] of spec.tasks.entries()) {
    const id = taskIdOf(task, index);
    if (ctx.signal.aborted) {
      outcomes.push({ id, description: task.description, agent: MANAGER_ID, status: "skipped", output: null });
      continue;
    }
    const delegate = tool({
      description: "Hand a piece of work to a coworker and get their result back.",
      inputSchema: z.object({
        coworker: z.string().describe(`One of: ${coworkers.map((c) => c.id).join(", ")}`),
        task: z.string().describe("What the coworker should do"),
        context: z.string().optional().describe("Everything the coworker needs to know"),
      }),
      execute: async ({ coworker, task: work, context }) => {
        const found = findAgent(coworkers, coworker);
        // Thrown errors go back to the manager as tool errors, so it can pick a real coworker.
        if (!found)
          throw new Error(`no coworker "${coworker}"; choose one of ${coworkers.map((c) => c.id).join(", ")}`);
        const agent = { ...found, id: agentIdOf(found) };
        const prompt = context ? `${work}\n\nContext:\n${context}` : work;
        const run = await runCrewAgent(env, agent, prompt, { kind: "delegation", taskId: id, input: work });
        await ctx.reportProgress((index + 0.5) / spec.tasks.length, `${agent.id} did work for ${id}`);
        return run.text;
      },
    });
    const prompt = managerTaskPrompt(task, contextFor(env, task, index), coworkers);
    const run = await runCrewAgent(
      env,
      manager,
      prompt,
      { kind: "manager", taskId: id },
      { delegate_work: delegate },
      agentSystemPrompt(manager),
    );
    if (run.cancelled) {
      outcomes.push({ id, description: task.description, agent: MANAGER_ID, status: "cancelled", output: null });
      continue;
    }
    env.outputs.set(id, run.text);
    outcomes.push({ id, description: task.description, agent: MANAGER_ID, status: "completed", output: run.text });
    await ctx.reportProgress((index + 1) / spec.tasks.length, `manager finished ${id}`);
  }
  return outcomes;
}
