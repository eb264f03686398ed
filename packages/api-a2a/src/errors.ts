import { ApflowError, ErrorCode, type JsonValue } from "@aipartnerupflow/core";

/**
 * The one place where errors become protocol errors (docs/semantics.md#errors-and-auth). Every surface (JSON-RPC,
 * A2A, MCP, HTTP middleware) calls `toRpcError` and `httpStatusOf`; nothing else decides codes.
 */
export interface RpcError {
  code: number;
  message: string;
  data?: JsonValue;
}

/** Rate limiting has no code in the table; it uses the implementation-defined server range. */
export const RATE_LIMITED = -32000;

const HTTP_STATUS: Record<number, number> = {
  [ErrorCode.ParseError]: 400,
  [ErrorCode.InvalidRequest]: 400,
  [ErrorCode.MethodNotFound]: 404,
  [ErrorCode.InvalidParams]: 400,
  [ErrorCode.Internal]: 500,
  [ErrorCode.TaskNotFound]: 404,
  [ErrorCode.CircularDependency]: 400,
  [ErrorCode.ExecutorNotFound]: 400,
  [ErrorCode.Unauthorized]: 403,
  [ErrorCode.InvalidTask]: 400,
  [ErrorCode.InvalidTransition]: 409,
  [ErrorCode.DependenciesNotSatisfied]: 409,
  [ErrorCode.AlreadyExecuting]: 409,
  [ErrorCode.CannotDelete]: 409,
  [ErrorCode.InvalidParent]: 400,
  [ErrorCode.InvalidDependency]: 400,
  [ErrorCode.TreeValidationFailed]: 400,
  [ErrorCode.Unavailable]: 503,
  [RATE_LIMITED]: 429,
};

/** The HTTP status that goes with a JSON-RPC error code. */
export function httpStatusOf(code: number): number {
  return HTTP_STATUS[code] ?? 500;
}

/**
 * Anything thrown → a JSON-RPC error. Our `ApflowError`s keep their code and data; anything
 * else is an internal error whose message is generic (no stack, no internals leak).
 */
export function toRpcError(err: unknown): RpcError {
  if (err instanceof ApflowError) {
    return err.data === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, data: err.data };
  }
  return { code: ErrorCode.Internal, message: "internal error" };
}

/** Whether an error is the server's fault (logged at error level) rather than the client's. */
export function isServerFault(err: unknown): boolean {
  return toRpcError(err).code === ErrorCode.Internal;
}

/**
 * An A2A response must use A2A's own code table (whose -32002..-32007 mean other things), so our
 * errors travel there as invalid params (-32602), task not found (-32001) or internal (-32603),
 * with our code kept in `apflowCode`.
 */
export function toA2aCode(code: number): number {
  if (code === ErrorCode.TaskNotFound) return -32001;
  if (code === ErrorCode.Internal) return -32603;
  return -32602;
}

/** Unauthenticated: no or a bad token. HTTP 401 (forbidden stays 403 through `httpStatusOf`). */
export class UnauthenticatedError extends ApflowError {
  constructor(message = "authentication required") {
    super(ErrorCode.Unauthorized, message);
  }
}
