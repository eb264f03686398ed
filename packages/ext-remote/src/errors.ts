import { type JsonValue, OUTBOUND_REFUSED, TaskFailure, zodIssues } from "@aipartnerupflow/core";
import type { z } from "zod";

/**
 * The codes this package stores in `task.error.code`. Refusals and invalid requests are final
 * (no retry policy retries them); network errors, timeouts and `HTTP_STATUS` are retryable, so a
 * task's `retry.retryOn` can name them.
 */
export const RemoteErrorCode = {
  /** The inputs do not match the executor's input schema. */
  InvalidInputs: "INVALID_INPUTS",
  /** The destination is loopback, private, link-local, metadata or otherwise internal (after DNS resolution, also on a redirect) and not allow-listed. */
  OutboundRefused: OUTBOUND_REFUSED,
  /** A `{secret: name}` reference names a secret the request did not bring. */
  SecretMissing: "SECRET_MISSING",
  /** A request header a task may not set (hop-by-hop or framing: `host`, `content-length`, ...). */
  HeaderNotAllowed: "HEADER_NOT_ALLOWED",
  /** `http`: the status is outside `okStatus`; `details.status` and `details.bodyExcerpt` say more. */
  HttpStatus: "HTTP_STATUS",
  /** `http`: connection refused or reset, DNS failure, TLS error. */
  HttpNetwork: "HTTP_NETWORK_ERROR",
  /** `http`: `timeoutMs` elapsed before the whole response arrived. */
  HttpTimeout: "HTTP_TIMEOUT",
  /** `http`: the response body is larger than `maxResponseBytes`. */
  HttpResponseTooLarge: "HTTP_RESPONSE_TOO_LARGE",
  /** `http`: more redirects than allowed. */
  HttpTooManyRedirects: "HTTP_TOO_MANY_REDIRECTS",
  /** `http`: the response says JSON but its body does not parse. */
  HttpInvalidJson: "HTTP_INVALID_JSON",
  /** `a2a`: the agent card cannot be read, or the agent answered with an error. */
  A2aError: "A2A_ERROR",
  /** `a2a`: the remote task failed or was rejected; `details.remoteTaskId` and `details.state` say which. */
  A2aRemoteFailed: "A2A_REMOTE_FAILED",
  /** `a2a`: the remote task was cancelled by someone else. */
  A2aRemoteCanceled: "A2A_REMOTE_CANCELED",
  /** `a2a`: the remote agent asked for input (or authentication); waiting tasks do not exist yet. */
  A2aInputRequired: "A2A_INPUT_REQUIRED",
  /** `a2a`: `timeoutMs` elapsed; the remote task was cancelled. */
  A2aTimeout: "A2A_TIMEOUT",
  /** `mcp_tool`: the server is not allowed by operator configuration. */
  McpNotAllowed: "MCP_SERVER_NOT_ALLOWED",
  /** `mcp_tool`: the server could not be started, reached or initialized, or the call failed. */
  McpError: "MCP_ERROR",
  /** `mcp_tool`: the server lists no tool of that name. */
  McpUnknownTool: "MCP_UNKNOWN_TOOL",
  /** `mcp_tool`: `timeoutMs` elapsed before the tool answered. */
  McpTimeout: "MCP_TIMEOUT",
  /** `mcp_tool`: the tool answered with `isError: true`. */
  McpToolError: "MCP_TOOL_ERROR",
} as const;
export type RemoteErrorCode = (typeof RemoteErrorCode)[keyof typeof RemoteErrorCode];

/** A final failure: no retry policy retries it. */
export function refuse(code: RemoteErrorCode, message: string, details?: JsonValue, cause?: unknown): TaskFailure {
  return new TaskFailure(code, message, {
    retryable: false,
    ...(details === undefined ? {} : { details }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A failure a retry policy may retry. */
export function fail(code: RemoteErrorCode, message: string, details?: JsonValue, cause?: unknown): TaskFailure {
  return new TaskFailure(code, message, {
    ...(details === undefined ? {} : { details }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Validate inputs with their zod schema (the engine checked them already; direct callers may not have). */
export function parseInputs<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const errors = zodIssues(parsed.error, "inputs");
  throw refuse(RemoteErrorCode.InvalidInputs, errors.map((e) => `${e.path}: ${e.message}`).join("; "), {
    errors: errors.map((e) => ({ ...e })),
  });
}
