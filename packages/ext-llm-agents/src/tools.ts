import { type ExecutorContext, type JsonObject, NonRetryableError, type ToolDefinition } from "@aipartnerupflow/core";
import { type Tool, tool } from "ai";
import { LlmErrorCode } from "./failures.js";
import { toSdkSchema } from "./schema.js";

/** A tool set as the AI SDK takes it (name → tool). */
export type SdkToolSet = Record<string, Tool>;

/** Tool names providers accept: letters, digits, `_` and `-`, at most 64 characters. */
export function toolName(id: string): string {
  const name = id.replace(/[^a-zA-Z0-9_-]/g, "_");
  return name.length > 64 ? name.slice(0, 64) : name;
}

/** Wrap one registry tool for the AI SDK; the tool gets the task's signal and user. */
export function fromRegistryTool(definition: ToolDefinition, ctx: Pick<ExecutorContext, "signal" | "userId">): Tool {
  return tool({
    description: definition.description,
    inputSchema: toSdkSchema(definition.inputSchema),
    execute: async (input) =>
      untilAborted(
        Promise.resolve(definition.execute(input as JsonObject, { signal: ctx.signal, userId: ctx.userId })),
        ctx.signal,
      ),
  });
}

/** Settle with the signal's reason as soon as it fires, even if the tool ignores the signal. */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * The registry tools an agent may use: exactly the ids listed (`["*"]` = every registered tool).
 * An unknown id fails the task instead of silently running with fewer tools.
 */
export function registryTools(ids: readonly string[] | undefined, ctx: ExecutorContext): SdkToolSet {
  const tools: SdkToolSet = {};
  if (!ids || ids.length === 0) return tools;
  const definitions = ids.includes("*") ? ctx.registry.listTools() : ids.map((id) => lookup(id, ctx));
  for (const definition of definitions) tools[toolName(definition.id)] = fromRegistryTool(definition, ctx);
  return tools;
}

function lookup(id: string, ctx: ExecutorContext): ToolDefinition {
  const found = ctx.registry.getTool(id);
  if (!found) {
    const known = ctx.registry.listTools().map((t) => t.id);
    throw new NonRetryableError(`unknown tool "${id}" (registered: ${known.join(", ") || "none"})`, {
      code: LlmErrorCode.UnknownTool,
    });
  }
  return found;
}
