import { ApflowError, ErrorCode } from "../errors.js";
import { compileSchema, declaredProperties } from "../schema/schema.js";
import type { TaskStore } from "../store/types.js";
import type { JsonObject, JsonValue, RetryPolicy } from "../types.js";
import { PLACEMENT_STRATEGIES, type PlacementFunction } from "../placement/types.js";
import { isTaskStore, noStoreForScheme, notAStore, storeScheme } from "./stores.js";
import type {
  BackoffFunction,
  CliCommandDefinition,
  ExecutorDefinition,
  ExecutorMetadata,
  HookMap,
  HookName,
  HookOptions,
  PluginDefinition,
  RegisteredExecutor,
  RegisteredHook,
  RegistryView,
  StoreFactory,
  ToolDefinition,
} from "./types.js";

export interface RegistryOptions {
  /** Executor ids allowed to run; everything when omitted (docs/semantics.md#the-registry: `APFLOW_EXECUTORS`). */
  allowedExecutors?: string[] | null;
  /** Accept trees naming executors that are not registered yet (they fail at run time). */
  allowLateRegistration?: boolean;
}

export class DuplicateRegistrationError extends ApflowError {
  constructor(kind: string, id: string) {
    super(ErrorCode.InvalidParams, `${kind} already registered: ${id} (pass override: true to replace it)`, {
      kind,
      id,
    });
  }
}

/**
 * The extension registry (docs/semantics.md#the-registry): executors, hooks, store factories, CLI commands, tools,
 * backoff and placement functions. There is no hidden global: create one per application, or use
 * `defaultRegistry` for convenience.
 */
export class Registry implements RegistryView {
  private readonly executors = new Map<string, RegisteredExecutor>();
  private readonly hooks: { [N in HookName]: RegisteredHook<N>[] } = {
    beforeTask: [],
    afterTask: [],
    beforeExecute: [],
    afterExecute: [],
    onTreeCreated: [],
    onTreeStarted: [],
    onTreeCompleted: [],
    onTreeFailed: [],
  };
  private readonly tools = new Map<string, ToolDefinition>();
  private readonly commands = new Map<string, CliCommandDefinition>();
  private readonly stores = new Map<string, StoreFactory>();
  private readonly backoffs = new Map<string, BackoffFunction>();
  private readonly placements = new Map<string, PlacementFunction>();
  private readonly plugins = new Map<string, PluginDefinition<never>>();
  private allowed: Set<string> | null;
  allowLateRegistration: boolean;

  constructor(options: RegistryOptions = {}) {
    this.allowed = options.allowedExecutors ? new Set(options.allowedExecutors) : null;
    this.allowLateRegistration = options.allowLateRegistration ?? false;
  }

  registerExecutor<I, O>(definition: ExecutorDefinition<I, O>, options: { override?: boolean } = {}): this {
    if (!definition.id || typeof definition.execute !== "function") {
      throw new ApflowError(ErrorCode.InvalidParams, "an executor needs an id and an execute function");
    }
    if (this.executors.has(definition.id) && !options.override) {
      throw new DuplicateRegistrationError("executor", definition.id);
    }
    const input = definition.inputSchema ? compileSchema(definition.inputSchema) : null;
    const output = definition.outputSchema ? compileSchema(definition.outputSchema) : null;
    const entry: RegisteredExecutor = {
      ...(definition as unknown as ExecutorDefinition<JsonObject, JsonValue>),
      name: definition.name ?? definition.id,
      description: definition.description ?? "",
      tags: definition.tags ?? [],
      inputJsonSchema: input?.json ?? null,
      inputProperties: declaredProperties(input?.json),
      outputJsonSchema: output?.json ?? null,
    };
    if (input) entry.inputSchema = input.zod;
    if (output) entry.outputSchema = output.zod;
    this.executors.set(definition.id, entry);
    return this;
  }

  unregisterExecutor(id: string): boolean {
    return this.executors.delete(id);
  }

  getExecutor(id: string): RegisteredExecutor | undefined {
    return this.executors.get(id);
  }

  /** The executors that declare a default `retry`, by id (what lease-expiry reclaim applies). */
  executorRetryPolicies(): Record<string, RetryPolicy> {
    const out: Record<string, RetryPolicy> = {};
    for (const [id, e] of this.executors) if (e.retry) out[id] = e.retry;
    return out;
  }

  hasExecutor(id: string): boolean {
    return this.executors.has(id);
  }

  isAllowed(id: string): boolean {
    return this.allowed === null || this.allowed.has(id);
  }

  /** Restrict which executors may run (null lifts the restriction). */
  setAllowedExecutors(ids: string[] | null): void {
    this.allowed = ids ? new Set(ids) : null;
  }

  listExecutors(): ExecutorMetadata[] {
    return [...this.executors.values()]
      .filter((e) => this.isAllowed(e.id))
      .map((e) => ({
        id: e.id,
        name: e.name,
        description: e.description,
        tags: e.tags,
        cancelable: e.cancelable ?? false,
        inputSchema: e.inputJsonSchema,
        outputSchema: e.outputJsonSchema,
        examples: e.examples ?? [],
      }));
  }

  addHook<N extends HookName>(name: N, fn: HookMap[N], options: HookOptions = {}): () => void {
    const hook: RegisteredHook<N> = {
      name,
      fn,
      critical: options.critical ?? false,
      executors: options.executors ?? null,
    };
    const list = this.hooks[name] as RegisteredHook<N>[];
    list.push(hook);
    return () => {
      const i = list.indexOf(hook);
      if (i >= 0) list.splice(i, 1);
    };
  }

  getHooks<N extends HookName>(name: N, executorId?: string): readonly RegisteredHook<N>[] {
    const list = this.hooks[name] as RegisteredHook<N>[];
    if (executorId === undefined) return list;
    return list.filter((h) => h.executors === null || h.executors.includes(executorId));
  }

  registerTool<I, O>(tool: ToolDefinition<I, O>, options: { override?: boolean } = {}): this {
    if (this.tools.has(tool.id) && !options.override) throw new DuplicateRegistrationError("tool", tool.id);
    this.tools.set(tool.id, tool as unknown as ToolDefinition);
    return this;
  }

  getTool(id: string): ToolDefinition | undefined {
    return this.tools.get(id);
  }

  listTools(): ToolDefinition[] {
    return [...this.tools.values()];
  }

  registerCommand(command: CliCommandDefinition, options: { override?: boolean } = {}): this {
    if (this.commands.has(command.name) && !options.override) {
      throw new DuplicateRegistrationError("command", command.name);
    }
    this.commands.set(command.name, command);
    return this;
  }

  listCommands(): CliCommandDefinition[] {
    return [...this.commands.values()];
  }

  /**
   * Contribute a store: `schemes` are the URL schemes it opens (`mystore` for `mystore://…`;
   * `file` covers `file:` URLs and plain paths). A factory registered later wins a scheme, so a
   * plugin may replace the built-in store for `postgres` or `file`.
   */
  registerStore(factory: StoreFactory, options: { override?: boolean } = {}): this {
    if (!factory || typeof factory.id !== "string" || factory.id === "" || typeof factory.create !== "function") {
      throw new ApflowError(ErrorCode.InvalidParams, "a store factory needs an id and a create function");
    }
    if (!Array.isArray(factory.schemes) || factory.schemes.length === 0) {
      throw new ApflowError(ErrorCode.InvalidParams, `store factory ${factory.id} names no URL scheme`, {
        id: factory.id,
      });
    }
    for (const scheme of factory.schemes) {
      if (typeof scheme !== "string" || !/^[a-z][a-z0-9+.-]*$/i.test(scheme)) {
        throw new ApflowError(
          ErrorCode.InvalidParams,
          `store factory ${factory.id}: "${String(scheme)}" is not a URL scheme (letters, digits, "+", "-", "."; no "://")`,
          { id: factory.id },
        );
      }
    }
    if (this.stores.has(factory.id) && !options.override) throw new DuplicateRegistrationError("store", factory.id);
    this.stores.delete(factory.id);
    this.stores.set(factory.id, factory);
    return this;
  }

  /** The store factory that opens URLs of this scheme (`postgres`, `file`, ...); the latest registered wins. */
  findStore(scheme: string): StoreFactory | undefined {
    const wanted = scheme.toLowerCase();
    const all = [...this.stores.values()];
    for (let i = all.length - 1; i >= 0; i--) {
      const factory = all[i] as StoreFactory;
      if (factory.schemes.some((s) => s.toLowerCase() === wanted)) return factory;
    }
    return undefined;
  }

  /** The factory that would open this URL (see `storeScheme`), or undefined. */
  findStoreFor(url: string): StoreFactory | undefined {
    return this.findStore(storeScheme(url));
  }

  /**
   * Open the store a URL names with the factory registered for its scheme (docs/semantics.md#the-registry). Unknown
   * schemes are refused with the list of registered ones.
   */
  async openStore(url: string, options: Record<string, unknown> = {}): Promise<TaskStore> {
    const scheme = storeScheme(url);
    const factory = this.findStore(scheme);
    if (!factory) throw noStoreForScheme(scheme, [...new Set(this.listStores().flatMap((f) => f.schemes))]);
    const store = await factory.create({ ...options, url });
    if (!isTaskStore(store)) throw notAStore(factory.id);
    return store;
  }

  listStores(): StoreFactory[] {
    return [...this.stores.values()];
  }

  registerBackoff(name: string, fn: BackoffFunction, options: { override?: boolean } = {}): this {
    if (this.backoffs.has(name) && !options.override) throw new DuplicateRegistrationError("backoff", name);
    this.backoffs.set(name, fn);
    return this;
  }

  getBackoff(name: string): BackoffFunction | undefined {
    return this.backoffs.get(name);
  }

  /**
   * A named placement function (docs/architecture.md#strategies-and-granularity): a node started
   * with `APFLOW_PLACEMENT=<name>` (or `--placement <name>`) places the executions it starts with
   * it. The built-in strategy names are taken.
   */
  registerPlacement(name: string, fn: PlacementFunction, options: { override?: boolean } = {}): this {
    if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/.test(name))
      throw new ApflowError(
        ErrorCode.InvalidParams,
        `placement name must be 1..100 letters, digits, . _ : -, got ${JSON.stringify(name)}`,
        { name },
      );
    if ((PLACEMENT_STRATEGIES as readonly string[]).includes(name))
      throw new ApflowError(ErrorCode.InvalidParams, `placement name ${name} is a built-in strategy`, { name });
    if (typeof fn !== "function")
      throw new ApflowError(ErrorCode.InvalidParams, `placement ${name} must be a function`, { name });
    if (this.placements.has(name) && !options.override) throw new DuplicateRegistrationError("placement", name);
    this.placements.set(name, fn);
    return this;
  }

  getPlacement(name: string): PlacementFunction | undefined {
    return this.placements.get(name);
  }

  /** Names of the registered placement functions. */
  listPlacements(): string[] {
    return [...this.placements.keys()];
  }

  /** Run a plugin's setup once; a second `use` of the same plugin name is a no-op. */
  async use<O>(plugin: PluginDefinition<O>, options?: O): Promise<this> {
    if (this.plugins.has(plugin.name)) return this;
    this.plugins.set(plugin.name, plugin as PluginDefinition<never>);
    await plugin.setup(this, (options ?? {}) as O);
    return this;
  }

  listPlugins(): Array<{ name: string; version: string | undefined }> {
    return [...this.plugins.values()].map((p) => ({ name: p.name, version: p.version }));
  }
}

/** A registry for convenience (the `@executor` decorator registers here). */
export const defaultRegistry = new Registry();
