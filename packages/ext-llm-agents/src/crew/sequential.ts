import type { CrewEnvironment } from "./environment.js";
import { contextFor, runCrewAgent } from "./environment.js";
import { taskPrompt } from "./prompts.js";
import type { CrewTaskOutcome } from "./recorder.js";
import { agentIdOf, findAgent, taskIdOf } from "./schema.js";

/**
 * Sequential process: each crew task is done by its agent, in order; a task receives the outputs
 * of its `context` tasks (default: the previous one). Stops at cancellation, keeping what finished.
 */
export async function runSequential(env: CrewEnvironment): Promise<CrewTaskOutcome[]> {
  const { spec, ctx } = env;
  const outcomes: CrewTaskOutcome[] = [];
  for (const [index, task] of spec.tasks.entries()) {
    const id = taskIdOf(task, index);
    const found = task.agent === undefined ? spec.agents[0] : findAgent(spec.agents, task.agent);
    // The input schema guarantees an agent here; the check keeps the types honest.
    if (!found) throw new Error(`crew task ${id}: no agent`);
    const agent = { ...found, id: agentIdOf(found) };
    if (ctx.signal.aborted) {
      outcomes.push({ id, description: task.description, agent: agent.id, status: "skipped", output: null });
      continue;
    }
    const run = await runCrewAgent(env, agent, taskPrompt(task, contextFor(env, task, index)), {
      kind: "task",
      taskId: id,
    });
    if (run.cancelled) {
      outcomes.push({ id, description: task.description, agent: agent.id, status: "cancelled", output: null });
      continue;
    }
    env.outputs.set(id, run.text);
    outcomes.push({ id, description: task.description, agent: agent.id, status: "completed", output: run.text });
    await ctx.reportProgress((index + 1) / spec.tasks.length, `${agent.id} finished ${id}`);
  }
  return outcomes;
}
