import { AsyncLocalStorage } from "node:async_hooks";
import type { Logger } from "@aipartnerupflow/core";

/**
 * The AI SDK prints its warnings (an unsupported setting, a compatibility mode) with
 * `console.info`/`console.warn`, so they land on stdout and break `--json` output. Unless the
 * application configured the SDK's `AI_SDK_LOG_WARNINGS` global itself, this package routes them
 * to the logger of the task that caused them (`ctx.log`), or to stderr outside any task.
 */

interface SdkWarnings {
  warnings: unknown[];
  provider: string;
  model: string;
}

const current = new AsyncLocalStorage<Logger>();
let installed = false;

/** Install the route once; an application's own setting (false or a function) is kept. */
export function routeSdkWarnings(): void {
  const g = globalThis as { AI_SDK_LOG_WARNINGS?: unknown };
  if (installed || g.AI_SDK_LOG_WARNINGS !== undefined) return;
  g.AI_SDK_LOG_WARNINGS = logSdkWarnings;
  installed = true;
}

/** Run `fn` (an executor's work) with SDK warnings going to `log`. */
export function withSdkWarnings<T>(log: Logger, fn: () => T): T {
  routeSdkWarnings();
  return current.run(log, fn);
}

function logSdkWarnings({ warnings, provider, model }: SdkWarnings): void {
  const log = current.getStore();
  for (const warning of warnings) {
    const message = `AI SDK warning (${provider} / ${model}): ${describeWarning(warning)}`;
    if (log) log.warn({ provider, model, warning }, message);
    else process.stderr.write(`${message}\n`);
  }
}

function describeWarning(warning: unknown): string {
  const w = (warning ?? {}) as { type?: string; feature?: string; details?: string; message?: string };
  switch (w.type) {
    case "unsupported":
      return `"${w.feature}" is not supported${w.details ? `: ${w.details}` : ""}`;
    case "compatibility":
      return `"${w.feature}" is used in a compatibility mode${w.details ? `: ${w.details}` : ""}`;
    case "other":
      return String(w.message);
    default:
      return JSON.stringify(warning);
  }
}
