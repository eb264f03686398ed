import type { JsonValue, Task, TaskEvent } from "@aipartnerupflow/core";
import { type Message, TaskState, type TaskStatusUpdateEvent } from "@a2a-js/sdk";
import { RequestMalformedError } from "@a2a-js/sdk/errors";
import type { TaskService } from "../service/task-service.js";
import type { Principal } from "../types.js";
import { agentMessage, dataPart, textPart } from "./mapping.js";
import { dataOf } from "./plan.js";

/** At most this many waiting tasks are described in one status message. */
const MAX_DESCRIBED = 20;

/** The tasks of a tree that wait for input now (oldest first). */
export async function waitingTasks(service: TaskService, principal: Principal, rootId: string): Promise<Task[]> {
  const page = await service.list(principal, { rootId, status: "waiting", limit: 100, order: "createdAt" });
  return page.tasks;
}

/** What a client needs to answer one waiting task: its id, the question, the answer's schema, until when. */
export function waitDescription(task: Task): Record<string, JsonValue> {
  const wait = task.wait;
  const out: Record<string, JsonValue> = { taskId: task.id, name: task.name, prompt: wait?.prompt ?? "" };
  if (wait?.schema) out.schema = wait.schema;
  if (wait?.deadline) out.deadline = wait.deadline;
  if (wait?.event) out.event = wait.event;
  // A plan's approval carries the plan itself (service/plan.ts).
  const plan = task.metadata.plan;
  if (plan && typeof plan === "object" && !Array.isArray(plan)) out.plan = plan;
  if (wait?.required !== undefined && wait.required > 1) {
    out.required = wait.required;
    out.answers = wait.answers.length;
  }
  return out;
}

/**
 * The status message of a tree in `input-required`: the prompt of each waiting task as text, and
 * for each a data part with its task id, prompt and JSON Schema (what a reply must send).
 */
export function inputRequiredMessage(rootId: string, contextId: string, waiting: readonly Task[]): Message {
  const shown = waiting.slice(0, MAX_DESCRIBED);
  const text =
    shown.length === 1
      ? (shown[0]?.wait?.prompt ?? "input required")
      : shown.map((t) => `${t.name}: ${t.wait?.prompt ?? "input required"}`).join("\n");
  return agentMessage(rootId, contextId, [textPart(text), ...shown.map((t) => dataPart(waitDescription(t)))]);
}

/**
 * Which tasks of a tree wait, kept current from the tree's events while a stream follows it:
 * `task.waiting` and `task.resumed` read the task (its prompt and schema; still waiting after one
 * answer of N?), any other event of it (started, cancelled, failed) removes it.
 */
export class WaitTracker {
  readonly #waiting = new Map<string, Task>();

  constructor(initial: readonly Task[] = []) {
    for (const t of initial) this.#waiting.set(t.id, t);
  }

  get size(): number {
    return this.#waiting.size;
  }

  get tasks(): Task[] {
    return [...this.#waiting.values()];
  }

  /** Take one event into account; returns whether the set of waiting tasks changed. */
  async apply(event: TaskEvent, read: (taskId: string) => Promise<Task | null>): Promise<boolean> {
    // An answer may leave the task waiting (one of N): what the store says decides.
    if (event.type === "task.waiting" || event.type === "task.resumed") {
      const task = await read(event.taskId);
      if (task?.status !== "waiting") return this.#waiting.delete(event.taskId);
      this.#waiting.set(task.id, task);
      return true;
    }
    if (event.type === "tree.finished") {
      const had = this.#waiting.size > 0;
      this.#waiting.clear();
      return had;
    }
    return this.#waiting.delete(event.taskId);
  }

  /** The tree's state while it runs: input-required while any task waits, else working. */
  state(): TaskState {
    return this.#waiting.size > 0 ? TaskState.TASK_STATE_INPUT_REQUIRED : TaskState.TASK_STATE_WORKING;
  }

  /** A status update saying the tree waits (with the questions) or works again. */
  update(rootId: string, contextId: string, at: string, event?: TaskEvent): TaskStatusUpdateEvent {
    const waiting = this.#waiting.size > 0;
    return {
      taskId: rootId,
      contextId,
      status: {
        state: this.state(),
        message: waiting ? inputRequiredMessage(rootId, contextId, this.tasks) : undefined,
        timestamp: at,
      },
      metadata: event ? { event } : undefined,
    };
  }
}

/**
 * The answer a message carries for one of the waiting tasks: its first data part (`{taskId,
 * input}` names the task when several wait; otherwise the whole value is the input), or a text
 * that is a JSON object, or — for an approval — a plain yes/no.
 */
export function answerOf(message: Message, waiting: readonly Task[]): { task: Task; input: JsonValue } {
  const data = dataOf(message);
  let input: JsonValue | undefined;
  let named: string | undefined;
  if (data !== undefined) {
    const obj = data as { taskId?: unknown; input?: unknown } | null;
    if (obj && typeof obj === "object" && typeof obj.taskId === "string" && "input" in obj) {
      named = obj.taskId;
      input = obj.input as JsonValue;
    } else input = data as JsonValue;
  }
  const task = pick(waiting, named);
  if (input === undefined) input = textAnswer(message, task);
  return { task, input };
}

function pick(waiting: readonly Task[], named: string | undefined): Task {
  if (named !== undefined) {
    const task = waiting.find((t) => t.id === named);
    if (!task) throw new RequestMalformedError(`task ${named} of this tree does not wait for input`);
    return task;
  }
  if (waiting.length === 1) return waiting[0] as Task;
  throw new RequestMalformedError(
    `${waiting.length} tasks of this tree wait for input: send a data part {"taskId": "<one of ${waiting
      .slice(0, MAX_DESCRIBED)
      .map((t) => t.id)
      .join(", ")}>", "input": {...}}`,
  );
}

const YES = /^(y|yes|ok|okay|approve|approved|run it|go|go ahead|lgtm)[.!]?$/i;
const NO = /^(n|no|reject|rejected|stop|cancel|don't|do not)[.!]?$/i;

function textAnswer(message: Message, task: Task): JsonValue {
  const text = message.parts
    .map((p) => (p.content?.$case === "text" ? p.content.value : ""))
    .join("\n")
    .trim();
  if (text.startsWith("{")) {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      // not JSON after all: read it as words below
    }
  }
  const properties = (task.wait?.schema as { properties?: Record<string, unknown> } | undefined)?.properties;
  const approval = task.params.executorId === "approval" || (properties !== undefined && "approved" in properties);
  if (approval && YES.test(text)) return { approved: true };
  if (approval && NO.test(text)) return { approved: false };
  throw new RequestMalformedError(
    `task ${task.id} waits for input: reply with a data part matching its schema${approval ? ' (or the text "yes" or "no")' : ""}`,
  );
}
