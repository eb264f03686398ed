import type { AgentStepRecord } from "../run-agent.js";
import type { TokenUsage } from "../types.js";
import { addUsage, ZERO_USAGE } from "../usage.js";

/** One unit of crew work in the result. */
export interface CrewStep {
  /** `task`: an agent did a crew task (sequential); `delegation`: a coworker did work the manager
   * handed over; `manager`: the manager's final answer for a crew task (hierarchical). */
  kind: "task" | "delegation" | "manager";
  taskId: string;
  agent: string;
  /** What the agent was asked (delegations: the manager's instructions). */
  input?: string;
  output: string;
  toolCalls: number;
  usage: TokenUsage;
  /** Cancelled while this step ran: `output` is what finished before. */
  cancelled?: boolean;
}

export interface CrewTaskOutcome {
  id: string;
  description: string;
  agent: string | null;
  status: "completed" | "cancelled" | "skipped";
  output: string | null;
}

/** Collects steps and token usage while a crew runs; everything recorded survives cancellation. */
export class CrewRecorder {
  readonly steps: CrewStep[] = [];
  readonly usageByAgent: Record<string, TokenUsage> = {};

  record(step: CrewStep): void {
    this.steps.push(step);
    this.usageByAgent[step.agent] = addUsage(this.usageByAgent[step.agent] ?? ZERO_USAGE, step.usage);
  }

  get usage(): TokenUsage {
    return addUsage(ZERO_USAGE, ...this.steps.map((s) => s.usage));
  }
}

export function countToolCalls(steps: readonly AgentStepRecord[]): number {
  return steps.reduce((n, s) => n + s.toolCalls.length, 0);
}
