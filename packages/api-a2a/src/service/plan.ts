import { ApflowError, ErrorCode, type JsonObject, type Task, type TaskInput } from "@aipartnerupflow/core";
import type { Principal } from "../types.js";
import type { TaskService } from "./task-service.js";

/** The executor that turns a requirement into a tree (ext-llm-agents). */
export const PLANNER_EXECUTOR = "generate_tree";
/** The name of the approval task a plan is gated behind. */
export const PLAN_APPROVAL_NAME = "approve-plan";

/** How to make plain-text requests work, for every refusal that says they do not. */
export const PLANNER_HOWTO =
  "to plan from plain text, load @aipartnerupflow/ext-llm-agents (apflow and apps/server do by default) and configure a provider: OPENAI_API_KEY or ANTHROPIC_API_KEY (APFLOW_LLM_MODEL picks the model, e.g. anthropic:claude-sonnet-4-5), or APFLOW_LLM_BASE_URL with APFLOW_LLM_MODEL=compatible:<model> for an OpenAI-compatible server";

/** Codes of a generation that could not run because no provider is configured. */
const NOT_CONFIGURED = new Set(["LLM_NOT_CONFIGURED", "INVALID_MODEL"]);
/** Codes of a generation that failed on the requirement itself (the caller's to fix). */
const INVALID_REQUEST = new Set(["INVALID_INPUTS", "INVALID_TREE"]);

export interface PlanRequest {
  requirement: string;
  /** `provider:model`; the planner's default otherwise. */
  model?: string;
  /** Executor ids the plan may use (default: all allowed ones). */
  executors?: string[];
  secrets?: Record<string, string> | undefined;
}

export interface Plan {
  /** The generated tree gated behind an approval task, ready for `TaskService.create`. */
  tasks: TaskInput[];
  /** The task that ran the generation (kept, like any task, for inspection). */
  generationTaskId: string;
  /** The generated tree as the planner answered it (before the approval gate was added). */
  generated: TaskInput[];
}

/** No provider (or no planner) here: the refusal a plain-text request gets, saying how to configure one. */
export class PlannerUnavailableError extends ApflowError {
  constructor(reason: string) {
    super(ErrorCode.InvalidParams, `${reason}; ${PLANNER_HOWTO}`, {
      errors: [{ path: "requirement", code: "planner_unavailable", message: reason }],
    });
    this.name = "PlannerUnavailableError";
  }
}

/**
 * Plan, approve, run — step one and two: the requirement becomes a validated tree through the
 * `generate_tree` executor (run as a one-task tree of the caller, like `tasks.generate`), and that
 * tree is gated behind an `approval` task (see `gatePlan`). Creating and executing the result is
 * the caller's: the tree then waits at the approval like any waiting task, so every surface shows
 * the plan the way it shows any question (A2A input-required, an MCP elicitation, a CLI prompt)
 * and the generated tasks run only once it is approved; a rejection fails them (`REJECTED`
 * cascades as `DEPENDENCY_FAILED`).
 */
export async function planTree(service: TaskService, principal: Principal, request: PlanRequest): Promise<Plan> {
  if (!service.hasExecutor(PLANNER_EXECUTOR)) {
    throw new PlannerUnavailableError(`no planner: the ${PLANNER_EXECUTOR} executor is not loaded`);
  }
  const inputs: JsonObject = { requirement: request.requirement };
  if (request.model !== undefined) inputs.model = request.model;
  if (request.executors !== undefined) inputs.executors = request.executors;
  const created = await service.create(principal, [
    { name: "plan", params: { executorId: PLANNER_EXECUTOR }, inputs, metadata: { plan: true } },
  ]);
  const handle = await service.execute(principal, created.rootId, request.secrets ? { secrets: request.secrets } : {});
  const outcome = await handle.done;
  const task = outcome.tasks.find((t) => t.id === created.rootId) as Task;
  if (outcome.status !== "completed" || task.status !== "completed") {
    const error = task.error;
    if (error && NOT_CONFIGURED.has(error.code)) throw new PlannerUnavailableError(`no LLM provider: ${error.message}`);
    if (error && INVALID_REQUEST.has(error.code)) {
      throw new ApflowError(ErrorCode.InvalidParams, `could not plan this request: ${error.message}`, {
        taskId: task.id,
        errors: [{ path: "requirement", code: error.code.toLowerCase(), message: error.message }],
      });
    }
    throw new ApflowError(ErrorCode.Internal, "planning failed", { taskId: task.id });
  }
  const generated = ((task.result as { tasks?: TaskInput[] } | null)?.tasks ?? []) as TaskInput[];
  return { tasks: gatePlan(generated, request.requirement), generationTaskId: task.id, generated };
}

/**
 * The generated tree behind an approval: an `approval` task (its prompt lists the plan) becomes a
 * child of the generated root, and every generated task without dependencies depends on it, so
 * nothing of the plan starts before the approval and everything fails if it is rejected. The
 * generated root stays the root, so the tree's answer is still the plan's answer.
 */
export function gatePlan(generated: readonly TaskInput[], requirement: string): TaskInput[] {
  const names = new Set(generated.map((t) => t.name));
  let approval = PLAN_APPROVAL_NAME;
  for (let i = 2; names.has(approval); i++) approval = `${PLAN_APPROVAL_NAME}-${i}`;
  const root = generated.find((t) => t.parentId === undefined || t.parentId === null);
  const gated = generated.map((t) => {
    const copy: TaskInput = { ...t };
    // Generated trees refer by name; ids (if the model wrote any) would clash with the caller's rules.
    delete copy.id;
    if (!t.dependencies || t.dependencies.length === 0) copy.dependencies = [approval];
    return copy;
  });
  gated.push({
    name: approval,
    ...(root ? { parentId: root.name } : {}),
    priority: 0,
    params: { executorId: "approval" },
    inputs: { prompt: planPrompt(generated, requirement) },
    // The plan as data, for clients that show it (A2A data part, MCP result).
    metadata: { plan: { requirement, tasks: generated.map(planLine) } },
  });
  return gated;
}

/** One task of a plan as shown to the person approving it. */
function planLine(t: TaskInput): JsonObject {
  const executorId = (t.params as { executorId?: unknown } | undefined)?.executorId;
  const deps = (t.dependencies ?? []).map((d) => (typeof d === "string" ? d : d.id));
  return {
    name: t.name,
    executorId: typeof executorId === "string" ? executorId : null,
    ...(t.parentId ? { parentId: t.parentId } : {}),
    ...(deps.length > 0 ? { dependencies: deps } : {}),
    ...(t.inputs ? { inputs: t.inputs } : {}),
  };
}

/** The question a plan asks: the requirement and one line per task, in the tree's order. */
export function planPrompt(tasks: readonly TaskInput[], requirement: string): string {
  const lines = tasks.map((t) => {
    const executor = (t.params as { executorId?: unknown } | undefined)?.executorId;
    const deps = (t.dependencies ?? []).map((d) => (typeof d === "string" ? d : d.id));
    const inputs = t.inputs && Object.keys(t.inputs).length > 0 ? ` ${clip(JSON.stringify(t.inputs), 160)}` : "";
    return `- ${t.name} (${String(executor ?? "group")})${deps.length > 0 ? ` after ${deps.join(", ")}` : ""}${inputs}`;
  });
  return `Run this plan for "${clip(requirement, 200)}"?\n${lines.join("\n")}\nApprove to run it, reject to drop it.`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
