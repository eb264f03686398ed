import type {
  CopyOptions,
  Execution,
  ExecutorMetadata,
  JsonObject,
  JsonValue,
  RetryPolicy,
  Task,
  TaskEvent,
  TaskInput,
  TaskStatus,
} from "@aipartnerupflow/core";
import type { CreateResult, RunningStatus, TaskDetail } from "../service/task-service.js";
import type { TaskNode } from "../service/tree.js";
import { parseSse } from "./sse.js";

export interface ApflowClientOptions {
  /** The server's base URL, for example `http://127.0.0.1:8000`. */
  url: string;
  /** Bearer token when the server has auth on. */
  token?: string;
  /** `provider:key`, sent as `X-LLM-API-KEY` with every request. */
  llmApiKey?: string;
  /** A fetch implementation (default the global one). */
  fetch?: typeof fetch;
}

/** A JSON-RPC error answered by the server. */
export class ApflowRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data: JsonValue | undefined,
    readonly httpStatus: number,
  ) {
    super(message);
    this.name = "ApflowRpcError";
  }
}

export interface ExecutionHead {
  executionId: string;
  rootId: string;
  taskId: string;
}

export interface ExecuteParams {
  taskId: string;
  rerun?: "failed" | "all";
  demo?: boolean;
  webhook?: { url: string; headers?: Record<string, string> };
  /** A repeat with the same key answers the first request's execution. */
  idempotencyKey?: string;
}

export interface ListParams {
  status?: TaskStatus | TaskStatus[];
  rootId?: string;
  parentId?: string | null;
  rootsOnly?: boolean;
  userId?: string | null;
  limit?: number;
  offset?: number;
  order?: "createdAt" | "-createdAt";
}

export interface EventsParams {
  taskId?: string;
  rootId?: string;
  executionId?: string;
  afterSeq?: number;
  limit?: number;
}

export interface UpdateParams {
  taskId: string;
  name?: string;
  inputs?: JsonObject;
  params?: JsonObject;
  schemas?: JsonObject;
  priority?: number;
  metadata?: JsonObject;
  retry?: RetryPolicy | null;
  runAt?: string | null;
}

/** A live event stream: the execution's ids, then its events; ends after the final one. */
export interface EventSubscription extends AsyncIterable<TaskEvent> {
  /** Resolves with the ids sent first by the server. */
  head: Promise<ExecutionHead | { rootId: string; executionId: string | null }>;
  /** Stop listening (the server stops too). */
  close(): void;
}

/**
 * A typed client of the JSON-RPC task API (`POST /tasks`), one method per JSON-RPC method, plus
 * SSE iterators for `tasks.execute` with `stream: true` and `tasks.events` with `stream: true`.
 * Used by the CLI's remote mode.
 */
export class ApflowClient {
  private readonly endpoint: string;
  private readonly fetchImpl: typeof fetch;
  private nextId = 1;

  constructor(private readonly options: ApflowClientOptions) {
    this.endpoint = `${options.url.replace(/\/+$/, "")}/tasks`;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** Call any method by name. */
  async call<T = unknown>(method: string, params: unknown = {}): Promise<T> {
    const res = await this.post(method, params);
    const body = (await res.json().catch(() => null)) as {
      result?: T;
      error?: { code: number; message: string; data?: JsonValue };
    } | null;
    if (!body) throw new ApflowRpcError(-32603, `invalid response (HTTP ${res.status})`, undefined, res.status);
    if (body.error) throw new ApflowRpcError(body.error.code, body.error.message, body.error.data, res.status);
    return body.result as T;
  }

  createTasks(tasks: TaskInput[]): Promise<CreateResult> {
    return this.call("tasks.create", { tasks });
  }
  getTask(taskId: string): Promise<Task> {
    return this.call("tasks.get", { taskId });
  }
  taskDetail(taskId: string): Promise<TaskDetail> {
    return this.call("tasks.detail", { taskId });
  }
  updateTask(params: UpdateParams): Promise<Task> {
    return this.call("tasks.update", params);
  }
  deleteTask(taskId: string): Promise<{ deleted: string[] }> {
    return this.call("tasks.delete", { taskId });
  }
  listTasks(params: ListParams = {}): Promise<{ tasks: Task[]; total: number }> {
    return this.call("tasks.list", params);
  }
  countTasks(
    params: { rootId?: string; rootsOnly?: boolean; userId?: string | null } = {},
  ): Promise<{ counts: Record<TaskStatus, number>; total: number }> {
    return this.call("tasks.count", params);
  }
  tree(taskId: string): Promise<{ rootId: string; tree: TaskNode }> {
    return this.call("tasks.tree", { taskId, format: "nested" });
  }
  treeFlat(taskId: string): Promise<{ rootId: string; tasks: Task[] }> {
    return this.call("tasks.tree", { taskId, format: "flat" });
  }
  children(parentId: string): Promise<{ tasks: Task[] }> {
    return this.call("tasks.children", { parentId });
  }
  copyTask(
    taskId: string,
    options: Omit<CopyOptions, "userId"> = {},
  ): Promise<{ saved: boolean; rootId: string | null; tasks: Array<Task | TaskInput> }> {
    return this.call("tasks.copy", { taskId, ...options });
  }
  /** Start an execution; answers at once. */
  execute(params: ExecuteParams): Promise<ExecutionHead & { status: string }> {
    return this.call("tasks.execute", params);
  }
  /** Start an execution and wait for its outcome. */
  executeAndWait(
    params: ExecuteParams,
  ): Promise<ExecutionHead & { status: "completed" | "failed" | "cancelled"; tasks: Task[] }> {
    return this.call("tasks.execute", { ...params, wait: true });
  }
  /** Start an execution and follow its events (SSE); reconnects resume after the last seen seq. */
  executeStream(params: ExecuteParams): EventSubscription {
    return this.subscribe("tasks.execute", { ...params, stream: true });
  }
  /** Answer a waiting task (`tasks.resume`). */
  resume(taskId: string, input: JsonValue): Promise<{ task: Task; resumed: boolean }> {
    return this.call("tasks.resume", { taskId, input });
  }
  /** Answer every task waiting for `event` (`tasks.signal`). */
  signal(
    event: string,
    key: string | null,
    payload: JsonValue,
  ): Promise<{ resumed: string[]; skipped: Array<{ taskId: string; reason: string }> }> {
    return this.call("tasks.signal", { event, ...(key !== null ? { key } : {}), payload });
  }
  cancel(taskId: string, reason?: string): Promise<{ cancelled: string[]; running: string[] }> {
    return this.call("tasks.cancel", reason === undefined ? { taskId } : { taskId, reason });
  }
  runningList(limit?: number): Promise<{ executions: Execution[] }> {
    return this.call("tasks.running.list", limit === undefined ? {} : { limit });
  }
  runningStatus(taskIds: string[]): Promise<{ statuses: RunningStatus[] }> {
    return this.call("tasks.running.status", { taskIds });
  }
  runningCount(): Promise<{ count: number }> {
    return this.call("tasks.running.count");
  }
  events(params: EventsParams): Promise<{ rootId: string; events: TaskEvent[]; lastSeq: number }> {
    return this.call("tasks.events", params);
  }
  /** Follow a tree's events (SSE) until its running execution finishes. */
  eventsStream(params: EventsParams): EventSubscription {
    return this.subscribe("tasks.events", { ...params, stream: true });
  }
  queueStats(): Promise<JsonObject> {
    return this.call("tasks.queue.stats");
  }
  generate(
    requirement: string,
    options: { inputs?: JsonObject; params?: JsonObject } = {},
  ): Promise<{ taskId: string; result: JsonValue }> {
    return this.call("tasks.generate", { requirement, ...options });
  }
  listExecutors(): Promise<{ executors: ExecutorMetadata[] }> {
    return this.call("executors.list");
  }
  health(): Promise<{ status: string; version: string; uptimeSeconds: number }> {
    return this.call("system.health");
  }

  private post(
    method: string,
    params: unknown,
    extraHeaders: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<Response> {
    const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (this.options.llmApiKey) headers["x-llm-api-key"] = this.options.llmApiKey;
    return this.fetchImpl(this.endpoint, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", id: this.nextId++, method, params }),
      ...(signal ? { signal } : {}),
    });
  }

  private subscribe(method: string, params: Record<string, unknown>): EventSubscription {
    const abort = new AbortController();
    let resolveHead!: (h: ExecutionHead) => void;
    let rejectHead!: (e: unknown) => void;
    const head = new Promise<ExecutionHead>((res, rej) => {
      resolveHead = res;
      rejectHead = rej;
    });
    head.catch(() => undefined);
    const self = this;
    async function* iterate(): AsyncGenerator<TaskEvent> {
      let lastSeq: number | undefined;
      let current = { ...params };
      for (let attempt = 0; ; attempt++) {
        let res: Response;
        try {
          res = await self.post(
            method,
            current,
            lastSeq !== undefined ? { "last-event-id": String(lastSeq) } : {},
            abort.signal,
          );
        } catch (err) {
          if (abort.signal.aborted) return;
          if (attempt < 3 && lastSeq !== undefined) continue;
          rejectHead(err);
          throw err;
        }
        if (!(res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
          const body = (await res.json().catch(() => null)) as {
            error?: { code: number; message: string; data?: JsonValue };
          } | null;
          const err = new ApflowRpcError(
            body?.error?.code ?? -32603,
            body?.error?.message ?? `HTTP ${res.status}`,
            body?.error?.data,
            res.status,
          );
          rejectHead(err);
          throw err;
        }
        let finished = false;
        try {
          for await (const msg of parseSse(res.body as ReadableStream<Uint8Array>)) {
            if (msg.event === "execution") {
              const h = JSON.parse(msg.data) as ExecutionHead;
              resolveHead(h);
              if (method === "tasks.execute") current = { taskId: h.rootId, stream: true };
              continue;
            }
            if (msg.event === "error") {
              const e = (JSON.parse(msg.data) as { error?: { code: number; message: string; data?: JsonValue } }).error;
              throw new ApflowRpcError(e?.code ?? -32603, e?.message ?? "stream error", e?.data, 200);
            }
            const event = JSON.parse(msg.data) as TaskEvent;
            lastSeq = event.seq;
            yield event;
            if (event.type === "tree.finished") finished = true;
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          if (err instanceof ApflowRpcError || attempt >= 3) throw err;
          continue;
        }
        if (finished || abort.signal.aborted) return;
        if (attempt >= 3) return;
      }
    }
    const iterator = iterate();
    return {
      head,
      close: () => abort.abort(),
      [Symbol.asyncIterator]: () => iterator,
    };
  }
}
