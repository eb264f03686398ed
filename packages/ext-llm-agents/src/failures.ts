import { TaskErrorCode, TaskFailure } from "@aipartnerupflow/core";
import { APICallError, LoadAPIKeyError, NoObjectGeneratedError, RetryError } from "ai";

/** Task error codes raised by this package (besides core's `CANCELLED`, `INVALID_OUTPUT`). */
export const LlmErrorCode = {
  /** The provider answered with an error (HTTP status in details). */
  ApiError: "LLM_API_ERROR",
  /** No key or base URL for the provider; never retried. */
  NotConfigured: "LLM_NOT_CONFIGURED",
  /** Anything else the SDK threw. */
  Error: "LLM_ERROR",
  /** `generate_tree`: the model's tree failed validation, also after the repair attempt. */
  InvalidTree: "INVALID_TREE",
  /** An agent names a registry tool that is not registered. */
  UnknownTool: "UNKNOWN_TOOL",
  /** An MCP server could not be started or reached, or an unknown server/tool was named. */
  McpError: "MCP_ERROR",
} as const;

const REDACTED = "[redacted]";

/** Replace every secret value inside a string. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join(REDACTED);
  return out;
}

export function isAbort(err: unknown, signal: AbortSignal): boolean {
  if (signal.aborted) return true;
  return err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError");
}

/**
 * Map whatever a model call threw to a `TaskFailure` whose message and details hold no secret.
 * Keys can end up in SDK error messages (a provider echoing a bad key); they are scrubbed here.
 */
export function toTaskFailure(err: unknown, secrets: readonly string[], signal?: AbortSignal): TaskFailure {
  if (signal && isAbort(err, signal)) {
    return new TaskFailure(TaskErrorCode.Cancelled, "the LLM request was cancelled", { retryable: false });
  }
  if (err instanceof TaskFailure) {
    const message = scrub(err.message, secrets);
    if (message === err.message && !secrets.some((s) => JSON.stringify(err.details ?? null).includes(s))) return err;
    const details = err.details === undefined ? undefined : JSON.parse(scrub(JSON.stringify(err.details), secrets));
    return new TaskFailure(err.code, message, { details, retryable: err.retryable });
  }
  const inner = RetryError.isInstance(err) ? err.lastError : err;
  if (APICallError.isInstance(inner)) {
    return new TaskFailure(LlmErrorCode.ApiError, scrub(inner.message, secrets), {
      details: { statusCode: inner.statusCode ?? null },
      retryable: inner.isRetryable,
    });
  }
  if (LoadAPIKeyError.isInstance(inner)) {
    return new TaskFailure(LlmErrorCode.NotConfigured, scrub(inner.message, secrets), { retryable: false });
  }
  if (NoObjectGeneratedError.isInstance(inner)) {
    const cause = inner.cause instanceof Error ? inner.cause.message : inner.message;
    return new TaskFailure(TaskErrorCode.InvalidOutput, "the model's output does not match the schema", {
      details: { reason: scrub(cause, secrets), text: scrub((inner.text ?? "").slice(0, 2000), secrets) },
    });
  }
  const message = inner instanceof Error ? inner.message || inner.name : String(inner);
  return new TaskFailure(LlmErrorCode.Error, scrub(message, secrets));
}
