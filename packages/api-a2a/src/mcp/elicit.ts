import type { JsonObject, JsonValue, Task, TaskEvent } from "@aipartnerupflow/core";
import type { MethodContext } from "../jsonrpc/context.js";

/** A form elicitation as the MCP SDK sends it (`elicitation/create`, mode form). */
export interface ElicitForm {
  message: string;
  requestedSchema: { type: "object"; properties: Record<string, JsonObject>; required?: string[] };
}

export interface ElicitAnswer {
  action: "accept" | "decline" | "cancel";
  content?: Record<string, unknown>;
}

/** Asks the connected client (null: it declared no elicitation capability). */
export type Elicitor = (form: ElicitForm, signal: AbortSignal) => Promise<ElicitAnswer>;

/** What a tool call that follows a tree offers for the questions it meets. */
export interface FollowExtra {
  progressToken: string | number | undefined;
  sendProgress(progress: number, total: number | undefined, message: string): Promise<void>;
  signal: AbortSignal;
  /** Present when the client supports elicitation. */
  elicit?: Elicitor;
}

/** The tree's outcome, or where it stands when a question could not be asked here. */
export type FollowOutcome =
  | { status: "completed" | "failed" | "cancelled" }
  | { status: "waiting"; waiting: Array<Record<string, JsonValue>>; hint: string };

const PRIMITIVE = new Set(["string", "number", "integer", "boolean"]);
const KEPT = ["type", "title", "description", "default", "enum", "enumNames", "oneOf", "minimum", "maximum"];
const KEPT_STRING = ["minLength", "maxLength", "format"];
const FORMATS = new Set(["email", "uri", "date", "date-time"]);

/**
 * The wait's schema as an MCP form (a flat object of strings, numbers, booleans and enums: what
 * elicitation allows), or null when it does not fit one (nested objects, arrays of objects). An
 * approval asks `approved` (and an optional `comment`) first, then its schema's own fields.
 */
export function elicitationForm(task: Task): ElicitForm | null {
  const wait = task.wait;
  if (!wait) return null;
  const schema = (wait.schema ?? { type: "object", properties: {} }) as {
    type?: unknown;
    properties?: Record<string, JsonObject>;
    required?: unknown;
  };
  if (schema.type !== undefined && schema.type !== "object") return null;
  const properties: Record<string, JsonObject> = {};
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === "string") : []);
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const field = primitive(property);
    if (!field) return null;
    properties[name] = field;
  }
  if (task.params.executorId === "approval") {
    properties.approved = { title: "Approve", ...properties.approved, type: "boolean" };
    properties.comment = { title: "Comment", ...properties.comment, type: "string" };
    required.add("approved");
  }
  if (Object.keys(properties).length === 0) return null;
  return {
    message: wait.prompt,
    requestedSchema: { type: "object", properties, ...(required.size > 0 ? { required: [...required] } : {}) },
  };
}

function primitive(property: JsonObject): JsonObject | null {
  const type = property.type;
  if (typeof type !== "string" || !PRIMITIVE.has(type)) return null;
  const out: JsonObject = {};
  for (const key of KEPT) if (property[key] !== undefined) out[key] = property[key] as JsonValue;
  if (type === "string") {
    for (const key of KEPT_STRING) if (property[key] !== undefined) out[key] = property[key] as JsonValue;
    if (typeof out.format === "string" && !FORMATS.has(out.format)) delete out.format;
  }
  return out;
}

/**
 * Follow a tree's events to its end (progress notifications as `execute_task` sends them), asking
 * the client each question it meets: a waiting task becomes an elicitation with the wait's schema
 * and the accepted answer resumes it (TaskService.resume, so its checks apply). When a question
 * cannot be asked here — no elicitation capability, a schema no form can hold, or the person
 * cancelled — the tool answers at once with `status: "waiting"` and the open questions: the task
 * keeps waiting for `resume_task` (or any other surface). Declining an approval rejects it.
 */
export async function followAnswering(
  ctx: MethodContext,
  extra: FollowExtra,
  run: { total: number; events: AsyncGenerator<TaskEvent> },
): Promise<FollowOutcome> {
  let done = 0;
  const asked = new Set<string>();
  for await (const e of run.events) {
    if (e.type === "task.completed" || e.type === "task.failed" || e.type === "task.cancelled") done++;
    if (extra.progressToken !== undefined && e.type !== "tree.started") {
      await extra.sendProgress(done, run.total, `${e.type} ${e.taskId}`);
    }
    if (e.type === "tree.finished") return { status: e.status as "completed" | "failed" | "cancelled" };
    if (e.type !== "task.waiting") continue;
    const task = await ctx.service.get(ctx.principal, e.taskId);
    if (task.status !== "waiting") continue;
    // A wait for a named event is answered by an integration (tasks.signal), not a person: follow on.
    if (task.wait?.event !== undefined) continue;
    const answered = await ask(ctx, extra, task, asked);
    if (!answered) {
      await run.events.return(undefined);
      return waitingOutcome(ctx, task.rootId);
    }
  }
  return waitingOutcome(ctx, "");
}

/** One question to the client; false when it stays open. */
async function ask(ctx: MethodContext, extra: FollowExtra, task: Task, asked: Set<string>): Promise<boolean> {
  const form = elicitationForm(task);
  // The same task asked again in one call (an N-of-M approval, a re-ask after a bad answer) would
  // ask the same person twice: leave it to the others.
  const key = `${task.id}:${task.wait?.since ?? ""}`;
  if (!extra.elicit || !form || asked.has(key) || !mayAsk(ctx, task)) return false;
  asked.add(key);
  let answer: ElicitAnswer;
  try {
    answer = await extra.elicit(form, extra.signal);
  } catch (err) {
    // No answer in time, or the client failed: the question stays open for resume_task.
    ctx.log.warn({ taskId: task.id, err: err instanceof Error ? err.message : String(err) }, "elicitation failed");
    return false;
  }
  if (answer.action === "accept") {
    await ctx.service.resume(ctx.principal, { taskId: task.id, input: (answer.content ?? {}) as JsonValue });
    return true;
  }
  if (answer.action === "decline" && task.params.executorId === "approval") {
    await ctx.service.resume(ctx.principal, { taskId: task.id, input: { approved: false, comment: "declined" } });
    return true;
  }
  return false;
}

/** Whether this caller may answer at all (the listed approvers, or an admin). */
function mayAsk(ctx: MethodContext, task: Task): boolean {
  const approvers = task.wait?.approvers;
  return (
    !approvers || ctx.principal.admin || (ctx.principal.userId !== null && approvers.includes(ctx.principal.userId))
  );
}

async function waitingOutcome(ctx: MethodContext, rootId: string): Promise<FollowOutcome> {
  const page = rootId
    ? await ctx.service.list(ctx.principal, { rootId, status: "waiting", limit: 20, order: "createdAt" })
    : { tasks: [] as Task[] };
  return {
    status: "waiting",
    waiting: page.tasks.map((t) => ({
      taskId: t.id,
      name: t.name,
      prompt: t.wait?.prompt ?? "",
      ...(t.wait?.schema ? { schema: t.wait.schema } : {}),
      ...(t.wait?.deadline ? { deadline: t.wait.deadline } : {}),
    })),
    hint: "the tree waits for input: answer with resume_task {taskId, input}",
  };
}
