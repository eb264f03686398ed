import type { z } from "zod";
import type { Logger } from "../logger.js";
import type { TaskStore } from "../store/types.js";
import type { DependencyResult, JsonObject, JsonValue, RetryPolicy, Task, WaitAnswer, WaitSpec } from "../types.js";

/** A schema as executors declare it: a zod schema, or a JSON Schema object. */
export type SchemaLike = z.ZodType | JsonObject;

/** What an executor receives besides its inputs (docs/semantics.md#the-registry). */
export interface ExecutorContext {
  task: Task;
  /** Fires on cancellation, timeout, lease loss or engine shutdown; `signal.reason` says which. */
  signal: AbortSignal;
  /**
   * Report progress (0..1) with an optional message; `null` keeps the current progress and only
   * sends the message (for example a line of output). Becomes a `task.progress` event.
   */
  reportProgress(progress: number | null, message?: string): Promise<void>;
  log: Logger;
  dependencies: DependencyResult[];
  userId: string | null;
  /** Per-request secrets (for example LLM API keys). Never persisted. */
  secrets: Readonly<Record<string, string>>;
  executionId: string;
  attempt: number;
  demo: boolean;
  /** Persist resumable state; a later attempt receives it as `lastCheckpoint`. */
  checkpoint(state: JsonValue): Promise<void>;
  lastCheckpoint: JsonValue | null;
  /**
   * End this run and wait for an answer (docs/semantics.md#waiting): throws, so `return ctx.waitFor(...)`
   * or a bare call both end the run. The task becomes `waiting` (no lease, no slot); once answered
   * it runs again from the start with the answer in `resumeInput`.
   */
  waitFor(spec: WaitSpec): never;
  /** The answer this run resumes from (the last answer's input); undefined when not resumed or timed out. */
  resumeInput: JsonValue | undefined;
  /** The whole resume state (every answer, whether the deadline ended the wait); null when not resumed. */
  resume: { input: JsonValue | undefined; answers: WaitAnswer[]; timedOut: boolean } | null;
  /** The registry the engine runs with (tools, other executors). */
  registry: RegistryView;
}

export interface ExecutorDefinition<I = JsonObject, O = JsonValue> {
  id: string;
  name?: string;
  description?: string;
  tags?: string[];
  inputSchema?: SchemaLike;
  outputSchema?: SchemaLike;
  /** Whether the executor honours `ctx.signal` (informational; cancel always fires it). */
  cancelable?: boolean;
  /** Returned instead of running in demo mode; a function receives the inputs. */
  demoResult?: O | ((inputs: I) => O);
  /** Side-effect free: runs for real in demo mode instead of returning `demoResult`. */
  runInDemo?: boolean;
  /** Simulated run time in demo mode. */
  demoDelayMs?: number;
  /** Default timeout when the task sets no `params.timeoutMs`. */
  timeoutMs?: number;
  /** Default retry policy when the task sets none. */
  retry?: RetryPolicy;
  examples?: Array<{ description?: string; inputs: JsonObject }>;
  execute(inputs: I, ctx: ExecutorContext): Promise<O> | O;
}

/** A registered executor: the definition plus its schemas in JSON Schema form. */
export interface RegisteredExecutor extends ExecutorDefinition<JsonObject, JsonValue> {
  name: string;
  description: string;
  tags: string[];
  inputJsonSchema: JsonObject | null;
  /** The input properties the schema declares (computed once: the engine reads it per task). */
  inputProperties: string[];
  outputJsonSchema: JsonObject | null;
}

export interface ExecutorMetadata {
  id: string;
  name: string;
  description: string;
  tags: string[];
  cancelable: boolean;
  inputSchema: JsonObject | null;
  outputSchema: JsonObject | null;
  examples: Array<{ description?: string; inputs: JsonObject }>;
}

export interface HookOptions {
  /** A critical hook's error fails the task; other hook errors are logged and ignored. */
  critical?: boolean;
  /** Executor-level hooks: only for these executor ids (all when omitted). */
  executors?: string[];
}

export interface TaskHookContext {
  executionId: string;
  log: Logger;
}

export type BeforeTaskHook = (
  task: Task,
  ctx: TaskHookContext & { inputs: JsonObject },
) => Promise<JsonObject | undefined | void> | JsonObject | undefined | void;
export type AfterTaskHook = (task: Task, result: JsonValue | null, ctx: TaskHookContext) => Promise<void> | void;
/** Executor-level `before`: return `{ result }` to short-circuit the executor. */
export type BeforeExecuteHook = (
  inputs: JsonObject,
  ctx: ExecutorContext,
) => Promise<{ result: JsonValue } | undefined | void> | { result: JsonValue } | undefined | void;
export type AfterExecuteHook = (
  result: JsonValue | null,
  ctx: ExecutorContext,
) => Promise<JsonValue | undefined | void> | JsonValue | undefined | void;
export type TreeHook = (event: TreeHookEvent) => Promise<void> | void;

export interface TreeHookEvent {
  rootId: string;
  executionId?: string;
  tasks?: Task[];
  status?: string;
}

export interface HookMap {
  beforeTask: BeforeTaskHook;
  afterTask: AfterTaskHook;
  beforeExecute: BeforeExecuteHook;
  afterExecute: AfterExecuteHook;
  onTreeCreated: TreeHook;
  onTreeStarted: TreeHook;
  onTreeCompleted: TreeHook;
  onTreeFailed: TreeHook;
}
export type HookName = keyof HookMap;

export interface RegisteredHook<N extends HookName = HookName> {
  name: N;
  fn: HookMap[N];
  critical: boolean;
  executors: string[] | null;
}

/** A tool an LLM agent may call (docs/semantics.md#the-registry: the registry's tool category). */
export interface ToolDefinition<I = JsonObject, O = JsonValue> {
  id: string;
  description: string;
  inputSchema: SchemaLike;
  execute(input: I, ctx: { signal: AbortSignal; userId: string | null }): Promise<O> | O;
}

/** A CLI command contributed by a plugin; the CLI wires it into commander. */
export interface CliCommandDefinition {
  name: string;
  description: string;
  /** Receives the commander `Command` instance to add arguments, options and the action. */
  configure(command: unknown, context: { registry: RegistryView }): void;
}

/**
 * A store a plugin contributes (docs/semantics.md#the-registry): `registry.openStore(url)` — used by the CLI's `--db`
 * and the server's `APFLOW_DATABASE_URL` — picks the factory by the URL's scheme.
 */
export interface StoreFactory {
  id: string;
  /** URL schemes this factory opens, for example `["postgres", "postgresql"]`; `file` is `file:` URLs and plain paths. */
  schemes: string[];
  /** Open the store. `url` is the whole URL as configured; other options come from the caller. */
  create(options: { url: string } & Record<string, unknown>): Promise<TaskStore> | TaskStore;
}

export type BackoffFunction = (attempt: number, error: { code: string; message: string }) => number;

export interface PluginDefinition<O = Record<string, unknown>> {
  name: string;
  version?: string;
  setup(registry: Registry, options: O): void | Promise<void>;
}

/** The read side of the registry, handed to executors. */
export interface RegistryView {
  getExecutor(id: string): RegisteredExecutor | undefined;
  listExecutors(): ExecutorMetadata[];
  getTool(id: string): ToolDefinition | undefined;
  listTools(): ToolDefinition[];
}

import type { Registry } from "./registry.js";
export type { Registry };
