import type { CrewAgent, CrewTaskSpec } from "./schema.js";

/** The system prompt that makes a model play one crew agent. */
export function agentSystemPrompt(agent: Pick<CrewAgent, "role" | "goal" | "backstory">): string {
  const lines = [`You are ${agent.role}.`];
  if (agent.backstory) lines.push(agent.backstory);
  lines.push(`Your personal goal is: ${agent.goal}`);
  lines.push("Work on the task you are given and answer with the complete result, not a plan.");
  return lines.join("\n");
}

export interface ContextEntry {
  taskId: string;
  output: string;
}

/** The prompt of one crew task: what to do, what to deliver, and what earlier tasks produced. */
export function taskPrompt(
  task: Pick<CrewTaskSpec, "description" | "expectedOutput">,
  context: readonly ContextEntry[],
): string {
  const parts = [`Current task: ${task.description}`, `Expected output: ${task.expectedOutput}`];
  if (context.length > 0) {
    parts.push("Context from earlier tasks:", ...context.map((c) => `--- ${c.taskId} ---\n${c.output}`));
  }
  return parts.join("\n\n");
}

export const DEFAULT_MANAGER = {
  role: "Crew Manager",
  goal: "Get each task done to the expected standard by delegating it to the right coworker and reviewing the result",
  backstory:
    "You lead a team of specialists. You never do the work yourself: you delegate, check what comes back, ask for corrections when it falls short, and then deliver the final answer.",
} as const;

/** What the manager is told for one crew task (hierarchical process). */
export function managerTaskPrompt(
  task: Pick<CrewTaskSpec, "description" | "expectedOutput" | "agent">,
  context: readonly ContextEntry[],
  coworkers: readonly { id: string; role: string; goal: string }[],
): string {
  const team = coworkers.map((c) => `- ${c.id}: ${c.role} — ${c.goal}`).join("\n");
  const hint = task.agent ? `\n\nSuggested coworker: ${task.agent}` : "";
  return `${taskPrompt(task, context)}\n\nYour coworkers:\n${team}${hint}\n\nUse the delegate_work tool to hand work to a coworker (give them all the context they need; they know nothing else). Review what comes back; delegate again with feedback if it does not meet the expected output. When it does, reply with the final result of the task as your answer.`;
}
