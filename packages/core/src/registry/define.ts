import { ApflowError, ErrorCode } from "../errors.js";
import type { JsonObject, JsonValue } from "../types.js";
import { defaultRegistry, type Registry } from "./registry.js";
import type { ExecutorContext, ExecutorDefinition, PluginDefinition } from "./types.js";

/** Declare an executor. Typed helper only: register it with `registry.registerExecutor`. */
export function defineExecutor<I = JsonObject, O = JsonValue>(
  definition: ExecutorDefinition<I, O>,
): ExecutorDefinition<I, O> {
  return definition;
}

/** Declare a plugin: a package's one export that registers its executors, hooks and commands. */
export function definePlugin<O = Record<string, unknown>>(plugin: PluginDefinition<O>): PluginDefinition<O> {
  return plugin;
}

/** What a class must look like for the `@executor` decorator. */
export interface ExecutorClass<I, O> {
  new (): { execute(inputs: I, ctx: ExecutorContext): Promise<O> | O };
}

/**
 * Standard (TC39) class decorator: registers the class as an executor, in `defaultRegistry` or
 * the registry given. Produces the same registry entry as `defineExecutor` + `registerExecutor`;
 * one instance serves every task.
 */
export function executor<I = JsonObject, O = JsonValue>(
  meta: Omit<ExecutorDefinition<I, O>, "execute"> & { registry?: Registry; override?: boolean },
) {
  return <C extends ExecutorClass<I, O>>(target: C, context: ClassDecoratorContext<C>): C => {
    if (context.kind !== "class") throw new ApflowError(ErrorCode.InvalidParams, "@executor decorates classes");
    const { registry = defaultRegistry, override, ...rest } = meta;
    let instance: InstanceType<C> | undefined;
    registry.registerExecutor<I, O>(
      {
        ...rest,
        execute: (inputs, ctx) => {
          instance ??= new target() as InstanceType<C>;
          return instance.execute(inputs, ctx);
        },
      },
      { override: override ?? false },
    );
    return target;
  };
}

/**
 * Load a plugin by package name (or file URL) with dynamic import and run it against the
 * registry. The module must export a plugin as `default` or as `plugin`. Applications pass
 * `loader.resolve` (for example `(s) => import.meta.resolve(s)` from their own module) so that
 * package names resolve from the application's dependencies.
 */
export async function loadPlugin(
  registry: Registry,
  specifier: string,
  options?: Record<string, unknown>,
  loader: { resolve?: (specifier: string) => string } = {},
): Promise<PluginDefinition> {
  let mod: Record<string, unknown>;
  try {
    // A bare package name resolves from core's own folder unless the caller resolves it from
    // where the application's packages are installed.
    const target = loader.resolve ? loader.resolve(specifier) : specifier;
    mod = (await import(target)) as Record<string, unknown>;
  } catch (err) {
    throw new ApflowError(
      ErrorCode.InvalidParams,
      `cannot load plugin ${specifier}: ${(err as Error).message}`,
      {
        plugin: specifier,
      },
      { cause: err },
    );
  }
  const plugin = (mod.default ?? mod.plugin) as PluginDefinition | undefined;
  if (!plugin || typeof plugin.setup !== "function" || typeof plugin.name !== "string") {
    throw new ApflowError(
      ErrorCode.InvalidParams,
      `${specifier} does not export a plugin (definePlugin) as default or "plugin"`,
      {
        plugin: specifier,
      },
    );
  }
  await registry.use(plugin, options ?? {});
  return plugin;
}
