import { ApflowClient, ApflowRpcError } from "@aipartnerupflow/api-a2a";
import {
  type JsonValue,
  ApflowError,
  type ErrorCode,
  type Task,
  type TaskEvent,
  type TaskPatch,
  type TaskStatus,
  type TreeOutcome,
  type Waiting,
} from "@aipartnerupflow/core";
import { CliError, ExitCode, isUnreachable } from "../errors.js";
import { redactUrl } from "../store.js";
import type {
  CreateRequest,
  CancelSummary,
  CopyRequest,
  CountOptions,
  ExecuteRequest,
  ListOptions,
  PlanOptions,
  QueueReport,
  StartedExecution,
  TaskBackend,
  TaskInspection,
} from "./types.js";
import { toTaskQuery } from "./types.js";

/** Pending tasks of one tree whose reason `tasks tree` asks a server for (one call each). */
const TREE_WAITING_MAX = 200;

export interface RemoteBackendOptions {
  url: string;
  token?: string | undefined;
}

/**
 * Remote mode: every operation is a JSON-RPC call to a running server (`POST /tasks`), and
 * executions run there; their events come back as server-sent events.
 */
export class RemoteBackend implements TaskBackend {
  readonly mode = "remote" as const;
  readonly location: string;
  private readonly client: ApflowClient;

  constructor(options: RemoteBackendOptions) {
    this.location = redactUrl(options.url);
    this.client = new ApflowClient({ url: options.url, ...(options.token ? { token: options.token } : {}) });
  }

  get(id: string): Promise<Task> {
    return this.rpc(() => this.client.getTask(id));
  }

  async inspect(id: string): Promise<TaskInspection> {
    const detail = await this.rpc(() => this.client.call<TaskInspection>("tasks.detail", { taskId: id }));
    return { task: detail.task, attempts: detail.attempts, waiting: detail.waiting ?? null };
  }

  async treeWaiting(tree: readonly Task[]): Promise<Map<string, Waiting>> {
    const out = new Map<string, Waiting>();
    const pending = tree.filter((t) => t.status === "pending").slice(0, TREE_WAITING_MAX);
    for (let i = 0; i < pending.length; i += 10) {
      const got = await Promise.all(
        pending
          .slice(i, i + 10)
          .map((t) =>
            this.rpc(() => this.client.call<Task & { waiting?: Waiting | null }>("tasks.get", { taskId: t.id })),
          ),
      );
      for (const t of got) if (t.waiting) out.set(t.id, t.waiting);
    }
    return out;
  }

  queueStats(): Promise<QueueReport> {
    return this.rpc(() => this.client.call<QueueReport>("tasks.queue.stats"));
  }

  list(options: ListOptions) {
    return this.rpc(() => this.client.listTasks(toTaskQuery(options)));
  }

  async tree(id: string): Promise<Task[]> {
    return (await this.rpc(() => this.client.treeFlat(id))).tasks;
  }

  async children(id: string): Promise<Task[]> {
    return (await this.rpc(() => this.client.children(id))).tasks;
  }

  async count(options: CountOptions): Promise<Record<TaskStatus, number>> {
    return (await this.rpc(() => this.client.countTasks(options))).counts;
  }

  async create(tasks: unknown[], request: CreateRequest = {}): Promise<Task[][]> {
    const key = request.idempotencyKey;
    const created = await this.rpc(() =>
      this.client.call<{ rootIds: string[]; tasks: Task[] }>(
        "tasks.create",
        key !== undefined ? { tasks, idempotencyKey: key } : { tasks },
      ),
    );
    return created.rootIds.map((rootId) => created.tasks.filter((t) => t.rootId === rootId));
  }

  async plan(request: PlanOptions): Promise<Task[]> {
    const planned = await this.rpc(() =>
      this.client.call<{ tasks: Task[] }>("tasks.plan", {
        requirement: request.requirement,
        ...(request.model ? { model: request.model } : {}),
        run: false,
      }),
    );
    return planned.tasks;
  }

  update(id: string, patch: TaskPatch): Promise<Task> {
    // The CLI never patches `schemas`; the client types it as a plain JSON object.
    const { schemas: _schemas, ...rest } = patch;
    return this.rpc(() => this.client.updateTask({ taskId: id, ...rest }));
  }

  async delete(id: string): Promise<string[]> {
    return (await this.rpc(() => this.client.deleteTask(id))).deleted;
  }

  resume(id: string, input: JsonValue): Promise<{ task: Task; resumed: boolean }> {
    return this.rpc(() => this.client.resume(id, input));
  }

  async signal(event: string, key: string | null, payload: JsonValue): Promise<{ resumed: string[] }> {
    return { resumed: (await this.rpc(() => this.client.signal(event, key, payload))).resumed };
  }

  cancel(id: string): Promise<CancelSummary> {
    return this.rpc(() => this.client.cancel(id, "cancelled from the CLI"));
  }

  async copy(id: string, request: CopyRequest): Promise<Task[]> {
    const copied = await this.rpc(() =>
      this.client.copyTask(id, {
        mode: request.mode,
        ...(request.taskIds ? { taskIds: request.taskIds } : {}),
        ...(request.includeDescendants ? { includeDescendants: true } : {}),
      }),
    );
    return copied.tasks as Task[];
  }

  async events(query: { id: string; afterSeq?: number; limit?: number }): Promise<TaskEvent[]> {
    const task = await this.get(query.id);
    const result = await this.rpc(() =>
      this.client.events({
        ...(task.parentId === null ? { rootId: task.id } : { taskId: task.id }),
        ...(query.afterSeq !== undefined ? { afterSeq: query.afterSeq } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
      }),
    );
    return result.events;
  }

  async execute(id: string, request: ExecuteRequest): Promise<StartedExecution> {
    const head = await this.rpc(() =>
      this.client.execute({
        taskId: id,
        ...(request.demo ? { demo: true } : {}),
        ...(request.rerun ? { rerun: request.rerun } : {}),
        ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
      }),
    );
    return { executionId: head.executionId, rootId: head.rootId };
  }

  async running(id: string): Promise<StartedExecution[]> {
    const task = await this.get(id);
    const { executions } = await this.rpc(() => this.client.runningList(1000));
    return executions.filter((e) => e.rootId === task.rootId).map((e) => ({ executionId: e.id, rootId: e.rootId }));
  }

  async *follow(
    target: { rootId: string; executionId?: string; afterSeq?: number },
    signal?: AbortSignal,
  ): AsyncIterable<TaskEvent> {
    const subscription = this.client.eventsStream({
      rootId: target.rootId,
      ...(target.executionId ? { executionId: target.executionId } : {}),
      ...(target.afterSeq !== undefined ? { afterSeq: target.afterSeq } : {}),
    });
    const onAbort = (): void => subscription.close();
    signal?.addEventListener("abort", onAbort);
    try {
      for await (const event of subscription) yield event;
    } catch (err) {
      throw toCliError(err, this.location);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      subscription.close();
    }
  }

  /** Follow the execution's events to `tree.finished`, then read the tree. */
  async wait(execution: StartedExecution): Promise<TreeOutcome> {
    let status: TreeOutcome["status"] | undefined;
    for await (const event of this.follow(execution)) {
      if (event.type === "tree.finished" && event.executionId === execution.executionId)
        status = event.status as TreeOutcome["status"];
    }
    const tasks = await this.tree(execution.rootId);
    const root = tasks.find((t) => t.id === execution.rootId);
    return {
      executionId: execution.executionId,
      rootId: execution.rootId,
      status:
        status ?? (root?.status === "completed" ? "completed" : root?.status === "cancelled" ? "cancelled" : "failed"),
      tasks,
    };
  }

  async close(): Promise<void> {}

  private async rpc<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw toCliError(err, this.location);
    }
  }
}

/** Server errors keep their JSON-RPC code (exit codes map from it); connection failures exit 3. */
function toCliError(err: unknown, location: string): Error {
  if (err instanceof ApflowRpcError) {
    if (err.httpStatus === 401) {
      return new CliError(
        `the server at ${location} refused the request: ${err.message} (pass --token or set APFLOW_TOKEN)`,
        ExitCode.Unreachable,
      );
    }
    return new ApflowError(err.code as ErrorCode, err.message, err.data);
  }
  if (isUnreachable(err) || (err instanceof TypeError && /fetch failed/.test(err.message))) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    return new CliError(
      `cannot reach the server at ${location}${cause ? `: ${cause}` : ""}`,
      ExitCode.Unreachable,
      [],
      { cause: err },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function openRemoteBackend(options: RemoteBackendOptions): RemoteBackend {
  try {
    new URL(options.url);
  } catch {
    throw new CliError(`--server must be a URL such as http://127.0.0.1:8000, got "${options.url}"`, ExitCode.Usage);
  }
  return new RemoteBackend(options);
}
