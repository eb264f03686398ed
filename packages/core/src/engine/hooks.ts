import { TaskErrorCode, TaskFailure } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Registry } from "../registry/registry.js";
import type { ExecutorContext, HookName, RegisteredHook, TreeHookEvent } from "../registry/types.js";
import type { JsonObject, JsonValue, Task } from "../types.js";

/**
 * Hook errors are logged with the task id and ignored, unless the hook was registered as
 * `critical`: then the task fails with `HOOK_FAILED` (docs/semantics.md#hooks-and-events).
 */
async function guard<T>(hook: RegisteredHook, log: Logger, run: () => Promise<T> | T): Promise<T | undefined> {
  try {
    return await run();
  } catch (err) {
    if (hook.critical) {
      throw new TaskFailure(
        TaskErrorCode.HookFailed,
        `${hook.name} hook failed: ${(err as Error)?.message ?? String(err)}`,
        {
          retryable: false,
          cause: err,
        },
      );
    }
    log.warn({ err, hook: hook.name }, "hook failed; ignored");
    return undefined;
  }
}

/** `beforeTask` hooks may return new inputs; the engine persists them. */
export async function runBeforeTaskHooks(
  registry: Registry,
  task: Task,
  inputs: JsonObject,
  executionId: string,
  log: Logger,
): Promise<JsonObject> {
  let current = inputs;
  for (const hook of registry.getHooks("beforeTask")) {
    const out = await guard(hook, log, () =>
      hook.fn({ ...task, inputs: current }, { executionId, log, inputs: current }),
    );
    if (out && typeof out === "object") current = out;
  }
  return current;
}

export async function runAfterTaskHooks(
  registry: Registry,
  task: Task,
  result: JsonValue | null,
  executionId: string,
  log: Logger,
): Promise<void> {
  for (const hook of registry.getHooks("afterTask")) {
    try {
      await hook.fn(task, result, { executionId, log });
    } catch (err) {
      // The task is finished already; even a critical afterTask hook can only be reported.
      log.error({ err, hook: hook.name, critical: hook.critical }, "afterTask hook failed");
    }
  }
}

/** Executor-level `before` hooks; the first that returns `{ result }` short-circuits. */
export async function runBeforeExecuteHooks(
  registry: Registry,
  executorId: string,
  inputs: JsonObject,
  ctx: ExecutorContext,
  log: Logger,
): Promise<JsonValue | undefined> {
  for (const hook of registry.getHooks("beforeExecute", executorId)) {
    const out = await guard(hook, log, () => hook.fn(inputs, ctx));
    if (out && typeof out === "object" && "result" in out) return out.result;
  }
  return undefined;
}

/** Executor-level `after` hooks may replace the result by returning a value. */
export async function runAfterExecuteHooks(
  registry: Registry,
  executorId: string,
  result: JsonValue | null,
  ctx: ExecutorContext,
  log: Logger,
): Promise<JsonValue | null> {
  let current = result;
  for (const hook of registry.getHooks("afterExecute", executorId)) {
    const out = await guard(hook, log, () => hook.fn(current, ctx));
    if (out !== undefined) current = out as JsonValue;
  }
  return current;
}

export async function runTreeHooks(
  registry: Registry,
  name: Extract<HookName, `onTree${string}`>,
  event: TreeHookEvent,
  log: Logger,
): Promise<void> {
  for (const hook of registry.getHooks(name)) {
    try {
      await hook.fn(event);
    } catch (err) {
      log.warn({ err, hook: name, rootId: event.rootId }, "tree hook failed; ignored");
    }
  }
}
