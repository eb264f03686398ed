/**
 * For tests: the calls of the original web app's API module (aipartnerupflow-webapp,
 * `lib/api/aipartnerupflow.ts`) as it makes them — same routes, methods, params and the same
 * handling of the answers (unwrapping `{task, children}` nodes, reading the SSE stream line by
 * line) — over `fetch` instead of axios and `localStorage`. Written from the module's behaviour;
 * its code is not copied.
 */
export interface WebappTask {
  id: string;
  name: string;
  user_id?: string;
  parent_id?: string | null;
  status?: string;
  progress?: number;
  result?: unknown;
  error?: string | null;
  inputs?: Record<string, unknown>;
  params?: Record<string, unknown>;
  schemas?: Record<string, unknown>;
  dependencies?: Array<{ id: string; required: boolean }>;
  created_at?: string;
  updated_at?: string;
  started_at?: string | null;
  completed_at?: string | null;
  children?: WebappTask[];
  original_task_id?: string | null;
  has_children?: boolean;
  [key: string]: unknown;
}

export type NewWebappTask = Omit<WebappTask, "id"> & { id?: string };

export interface WebappEvent {
  type: string;
  task_id?: string;
  status?: string;
  progress?: number;
  result?: unknown;
  error?: string;
  final?: boolean;
  [key: string]: unknown;
}

/** What the module throws: the message it builds (`error.data` first), the code kept. */
export class WebappRpcError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly status: number,
  ) {
    super(message);
  }
}

interface Node {
  task: WebappTask;
  children?: Node[];
}

export class WebappClient {
  private requestId = 0;

  constructor(
    private readonly baseURL: string,
    private readonly token?: string,
    private readonly llmKey?: string,
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return {
      "Content-Type": "application/json",
      ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
      ...(this.llmKey ? { "X-LLM-API-KEY": this.llmKey } : {}),
      ...extra,
    };
  }

  async rpc<T>(endpoint: string, method: string, params?: unknown): Promise<T> {
    const res = await fetch(`${this.baseURL}${endpoint}`, {
      method: "POST",
      headers: this.headers(),
      body: JSON.stringify({ jsonrpc: "2.0", method, params, id: ++this.requestId }),
    });
    const data = (await res.json()) as { result?: T; error?: { code: number; message: string; data?: unknown } };
    if (data.error) {
      throw new WebappRpcError(
        String(data.error.data || data.error.message || "RPC Error"),
        data.error.code,
        res.status,
      );
    }
    if (!res.ok) throw new WebappRpcError(`HTTP ${res.status}`, 0, res.status);
    return data.result as T;
  }

  /** The module types items as its `Task` (id required); its create page always fills ids, scripts may not. */
  createTasks(tasks: NewWebappTask[] | NewWebappTask) {
    const taskArray = Array.isArray(tasks) ? tasks : [tasks];
    return this.rpc<{ status: string; root_task_id: string; progress: number; task_count: number }>(
      "/tasks",
      "tasks.create",
      taskArray,
    );
  }

  getTask(taskId: string) {
    return this.rpc<WebappTask>("/tasks", "tasks.get", { task_id: taskId });
  }

  async getTaskDetail(taskId: string): Promise<WebappTask> {
    const response = await this.rpc<Node>("/tasks", "tasks.detail", { task_id: taskId });
    const convert = (node: Node): WebappTask => ({ ...node.task, children: (node.children || []).map(convert) });
    return convert(response);
  }

  async getTaskTree(taskId?: string, rootId?: string): Promise<WebappTask & { children: WebappTask[] }> {
    const params: Record<string, string> = {};
    if (taskId) params.task_id = taskId;
    if (rootId) params.root_id = rootId;
    const response = await this.rpc<Node>("/tasks", "tasks.tree", params);
    const convert = (node: Node): WebappTask => ({
      ...node.task,
      children: node.children ? node.children.map(convert) : [],
    });
    return convert(response) as WebappTask & { children: WebappTask[] };
  }

  /** The same call as the original server's own answer: a task dict with `children` nested. */
  getTaskTreeRaw(taskId: string) {
    return this.rpc<WebappTask & { children: WebappTask[] }>("/tasks", "tasks.tree", { task_id: taskId });
  }

  updateTask(taskId: string, updates: Record<string, unknown>) {
    return this.rpc<WebappTask>("/tasks", "tasks.update", { task_id: taskId, ...updates });
  }

  deleteTask(taskId: string) {
    return this.rpc<{ success: boolean; task_id: string }>("/tasks", "tasks.delete", { task_id: taskId });
  }

  copyTask(taskId: string) {
    return this.rpc<WebappTask>("/tasks", "tasks.copy", { task_id: taskId });
  }

  /**
   * `executeTask`: first `getTask` (the module detects the LLM provider from the task), then
   * `tasks.execute`. With streaming and a callback it POSTs with fetch and reads `data:` lines:
   * the JSON-RPC result is the initial response, every object with a `type` goes to `onEvent`,
   * and it stops at `final` or `stream_end`. Returns once the stream ended (the module returns
   * earlier and keeps reading in the background; waiting makes the test deterministic).
   */
  async executeTask(
    taskId: string,
    useStreaming = true,
    onEvent?: (event: WebappEvent) => void,
    useDemo?: boolean,
  ): Promise<Record<string, unknown>> {
    await this.getTask(taskId).catch(() => undefined);
    const params: Record<string, unknown> = { task_id: taskId, use_streaming: useStreaming };
    if (useDemo !== undefined) params.use_demo = useDemo;
    const request = { jsonrpc: "2.0", method: "tasks.execute", params, id: ++this.requestId };
    if (useStreaming && onEvent) {
      const response = await fetch(`${this.baseURL}/tasks`, {
        method: "POST",
        headers: this.headers(),
        body: JSON.stringify(request),
      });
      if (!response.ok) {
        const errorData = (await response.json().catch(() => ({ error: { message: "Unknown error" } }))) as {
          error?: { message?: string; code?: number };
        };
        throw new WebappRpcError(
          errorData.error?.message || "Unknown error",
          errorData.error?.code ?? 0,
          response.status,
        );
      }
      if (!response.headers.get("content-type")?.includes("text/event-stream")) {
        const data = (await response.json()) as { result?: Record<string, unknown>; error?: { message: string } };
        if (data.error) throw new Error(data.error.message);
        return data.result ?? {};
      }
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      let initial: Record<string, unknown> | null = null;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const lines = buffer.split("\n");
        buffer = lines.pop() || "";
        for (const line of lines) {
          if (!line.startsWith("data: ")) continue;
          const parsed = JSON.parse(line.slice(6)) as Record<string, unknown>;
          if (parsed.jsonrpc === "2.0" && parsed.result) {
            initial = parsed.result as Record<string, unknown>;
          } else if (parsed.type) {
            onEvent(parsed as WebappEvent);
            if (parsed.final || parsed.type === "stream_end") {
              await reader.cancel();
              return initial ?? {};
            }
          }
        }
      }
      return initial ?? {};
    }
    const response = await fetch(`${this.baseURL}/tasks`, {
      method: "POST",
      headers: this.headers(),
      body: JSON.stringify(request),
    });
    const data = (await response.json()) as {
      result?: Record<string, unknown>;
      error?: { message: string; code: number };
    };
    if (data.error) throw new WebappRpcError(data.error.message || "Unknown error", data.error.code, response.status);
    return data.result as Record<string, unknown>;
  }

  cancelTasks(taskIds: string[], force = false) {
    return this.rpc<Array<{ task_id: string; status: string; message?: string; error?: string; code?: number }>>(
      "/tasks",
      "tasks.cancel",
      { task_ids: taskIds, force },
    );
  }

  getRunningTasks(userId?: string, limit = 100) {
    return this.rpc<Array<{ id: string; name: string; status: string; progress: number }>>(
      "/tasks",
      "tasks.running.list",
      { user_id: userId, limit },
    );
  }

  listTasks(params?: { userId?: string; status?: string; root_only?: boolean; limit?: number; offset?: number }) {
    return this.rpc<WebappTask[]>("/tasks", "tasks.list", {
      user_id: params?.userId,
      status: params?.status,
      root_only: params?.root_only ?? true,
      limit: params?.limit ?? 100,
      offset: params?.offset ?? 0,
    });
  }

  getTaskChildren(parentId: string) {
    return this.rpc<WebappTask[]>("/tasks", "tasks.children", { parent_id: parentId });
  }

  getRunningTaskStatus(taskIds: string[]) {
    return this.rpc<Array<{ task_id: string; status: string; message?: string; is_running?: boolean }>>(
      "/tasks",
      "tasks.running.status",
      { task_ids: taskIds },
    );
  }

  getRunningTaskCount(userId?: string) {
    return this.rpc<{ count: number; user_id?: string }>("/tasks", "tasks.running.count", { user_id: userId });
  }

  getHealth() {
    return this.rpc<{ status: string; version: string; uptime: number }>("/system", "system.health", {});
  }

  async getAgentCard(): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.baseURL}/.well-known/agent-card`, {
      headers: this.token ? { Authorization: `Bearer ${this.token}` } : {},
    });
    if (!res.ok) throw new WebappRpcError(`HTTP ${res.status}`, 0, res.status);
    return (await res.json()) as Record<string, unknown>;
  }

  setLLMKey(apiKey: string, provider?: string, userId?: string) {
    return this.rpc<{ success: boolean; user_id: string; provider: string }>("/system", "config.llm_key.set", {
      api_key: apiKey,
      provider,
      user_id: userId,
    });
  }

  getLLMKeyStatus(provider?: string, userId?: string) {
    return this.rpc<{ has_key: boolean; user_id: string; provider?: string; providers: Record<string, string> }>(
      "/system",
      "config.llm_key.get",
      { provider, user_id: userId },
    );
  }

  deleteLLMKey(provider?: string, userId?: string) {
    return this.rpc<{ success: boolean; user_id: string; deleted: boolean; provider: string }>(
      "/system",
      "config.llm_key.delete",
      { provider, user_id: userId },
    );
  }
}
