import { z } from "zod";
import { generationFields, mcpUseSchema, modelField, toolFields } from "../inputs.js";

export const crewAgentSchema = z.object({
  id: z.string().min(1).optional().describe("How tasks refer to the agent; defaults to its role"),
  role: z.string().min(1),
  goal: z.string().min(1),
  backstory: z.string().optional(),
  model: modelField,
  tools: toolFields.tools,
  mcp: z.array(mcpUseSchema).optional(),
  maxSteps: toolFields.maxSteps,
});
export type CrewAgent = z.infer<typeof crewAgentSchema>;

export const crewTaskSchema = z.object({
  id: z.string().min(1).optional().describe("How later tasks refer to this one in context; defaults to task-<n>"),
  description: z.string().min(1),
  expectedOutput: z.string().min(1),
  agent: z.string().optional().describe("Agent id (or role); in hierarchical mode a suggestion for the manager"),
  context: z
    .array(z.string())
    .optional()
    .describe("Ids of earlier tasks whose output this task receives; default: the previous task's output"),
});
export type CrewTaskSpec = z.infer<typeof crewTaskSchema>;

export const crewManagerSchema = z.object({
  role: z.string().optional(),
  goal: z.string().optional(),
  backstory: z.string().optional(),
  model: modelField,
  maxSteps: toolFields.maxSteps,
});

export const crewInputSchema = z
  .object({
    agents: z.array(crewAgentSchema).min(1),
    tasks: z.array(crewTaskSchema).min(1),
    process: z.enum(["sequential", "hierarchical"]).default("sequential"),
    manager: crewManagerSchema.optional().describe("Hierarchical process: the manager agent"),
    model: modelField.describe("Model of agents (and the manager) that name none"),
    ...generationFields,
  })
  .superRefine((crew, issue) => {
    const ids = crew.agents.map(agentIdOf);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i)
        issue.addIssue({ code: "custom", path: ["agents", i, "id"], message: `duplicate agent id "${id}"` });
    });
    const taskIds = crew.tasks.map(taskIdOf);
    crew.tasks.forEach((task, i) => {
      if (taskIds.indexOf(taskIds[i] as string) !== i) {
        issue.addIssue({ code: "custom", path: ["tasks", i, "id"], message: `duplicate task id "${taskIds[i]}"` });
      }
      if (task.agent !== undefined && findAgent(crew.agents, task.agent) === undefined) {
        issue.addIssue({ code: "custom", path: ["tasks", i, "agent"], message: `unknown agent "${task.agent}"` });
      }
      if (crew.process === "sequential" && task.agent === undefined && crew.agents.length > 1) {
        issue.addIssue({
          code: "custom",
          path: ["tasks", i, "agent"],
          message: "sequential crews name each task's agent",
        });
      }
      task.context?.forEach((ref, j) => {
        const at = taskIds.indexOf(ref);
        if (at < 0 || at >= i) {
          issue.addIssue({
            code: "custom",
            path: ["tasks", i, "context", j],
            message: `context "${ref}" must name an earlier task`,
          });
        }
      });
    });
  });
export type CrewInputs = z.input<typeof crewInputSchema>;
export type CrewSpec = z.output<typeof crewInputSchema>;

export function agentIdOf(agent: Pick<CrewAgent, "id" | "role">): string {
  return agent.id ?? agent.role;
}

export function taskIdOf(task: Pick<CrewTaskSpec, "id">, index: number): string {
  return task.id ?? `task-${index + 1}`;
}

/** An agent by id, falling back to its role (case-insensitive). */
export function findAgent(agents: readonly CrewAgent[], ref: string): CrewAgent | undefined {
  return agents.find((a) => agentIdOf(a) === ref) ?? agents.find((a) => a.role.toLowerCase() === ref.toLowerCase());
}
