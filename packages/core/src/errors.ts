import type { JsonValue, TaskError } from "./types.js";

/**
 * Every error the product raises on purpose is an `ApflowError` with a JSON-RPC code (docs/semantics.md#errors-and-auth).
 * Surfaces map `code` to their protocol (HTTP status, CLI exit code) in one place each.
 */
export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  TaskNotFound: -32001,
  CircularDependency: -32002,
  ExecutorNotFound: -32003,
  Unauthorized: -32004,
  InvalidTask: -32005,
  InvalidTransition: -32006,
  DependenciesNotSatisfied: -32007,
  AlreadyExecuting: -32008,
  CannotDelete: -32009,
  InvalidParent: -32010,
  InvalidDependency: -32011,
  TreeValidationFailed: -32012,
  /** Beyond the table of docs/semantics.md#errors-and-auth (server range): the engine is shutting down. HTTP 503. */
  Unavailable: -32013,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Codes stored in `task.error.code` when a task fails or is cancelled. */
export const TaskErrorCode = {
  ExecutorError: "EXECUTOR_ERROR",
  ExecutorNotFound: "EXECUTOR_NOT_FOUND",
  ExecutorNotAllowed: "EXECUTOR_NOT_ALLOWED",
  DependencyFailed: "DEPENDENCY_FAILED",
  Timeout: "TIMEOUT",
  Cancelled: "CANCELLED",
  InvalidInputs: "INVALID_INPUTS",
  InvalidOutput: "INVALID_OUTPUT",
  LeaseExpired: "LEASE_EXPIRED",
  HookFailed: "HOOK_FAILED",
  /** A wait's deadline passed with `onTimeout: fail`. */
  WaitTimeout: "WAIT_TIMEOUT",
  /** An approval was rejected (the `approval` executor). */
  Rejected: "REJECTED",
  /** `ctx.waitFor` was called with a malformed request. */
  InvalidWait: "INVALID_WAIT",
} as const;
export type TaskErrorCode = (typeof TaskErrorCode)[keyof typeof TaskErrorCode];

/** One problem found while validating a request: where, what kind, and a readable message. */
export interface ValidationIssue {
  path: string;
  code: string;
  message: string;
}

export class ApflowError extends Error {
  readonly code: ErrorCode;
  readonly data: JsonValue | undefined;

  constructor(code: ErrorCode, message: string, data?: JsonValue, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.data = data;
  }

  toJSON(): { code: ErrorCode; message: string; data?: JsonValue } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** Bad input: every problem is listed in `errors` (and in `data.errors`). */
export class ValidationError extends ApflowError {
  readonly errors: ValidationIssue[];

  constructor(errors: ValidationIssue[], message = summarize(errors), code: ErrorCode = ErrorCode.InvalidParams) {
    super(code, message, { errors: errors.map((e) => ({ ...e })) });
    this.errors = errors;
  }
}

export class NotFoundError extends ApflowError {
  constructor(what: string, id: string) {
    super(ErrorCode.TaskNotFound, `${what} not found: ${id}`, { id });
  }
}

export class InvalidTransitionError extends ApflowError {
  constructor(taskId: string, from: string, to: string) {
    super(ErrorCode.InvalidTransition, `task ${taskId}: cannot go from ${from} to ${to}`, {
      taskId,
      from,
      to,
    });
  }
}

export class AlreadyExecutingError extends ApflowError {
  constructor(rootId: string, executionId: string) {
    super(ErrorCode.AlreadyExecuting, `tree ${rootId} is already executing (${executionId})`, {
      rootId,
      executionId,
    });
  }
}

export class ExecutorNotFoundError extends ApflowError {
  constructor(executorId: string) {
    super(ErrorCode.ExecutorNotFound, `executor not found: ${executorId}`, { executorId });
  }
}

/** A stale or foreign lease token: the write is refused, nothing changes. */
export class LeaseLostError extends ApflowError {
  constructor(taskId: string) {
    super(ErrorCode.InvalidTransition, `task ${taskId}: lease lost or token stale`, { taskId });
  }
}

/**
 * Placement that cannot work (invalid params, -32602): an unknown strategy or granularity, or a
 * custom placement function that chose a node that is not eligible for the unit's head.
 */
export class InvalidPlacementError extends ApflowError {
  constructor(message: string, data?: JsonValue) {
    super(ErrorCode.InvalidParams, message, data);
  }
}

/** The engine is stopping or stopped: try again later (HTTP 503). */
export class EngineStoppedError extends ApflowError {
  constructor() {
    super(ErrorCode.Unavailable, "the engine is shutting down; try again later");
  }
}

export class ForbiddenError extends ApflowError {
  constructor(message = "forbidden") {
    super(ErrorCode.Unauthorized, message);
  }
}

export class CannotDeleteError extends ApflowError {
  constructor(taskId: string, reason: string) {
    super(ErrorCode.CannotDelete, `task ${taskId} cannot be deleted: ${reason}`, { taskId });
  }
}

export class DependenciesNotSatisfiedError extends ApflowError {
  constructor(taskId: string, message: string, data?: JsonValue) {
    super(ErrorCode.DependenciesNotSatisfied, `task ${taskId}: ${message}`, data);
  }
}

/**
 * Thrown by an executor to fail its task with a specific code. `retryable: false` marks the
 * failure as final (docs/semantics.md#retry).
 */
export class TaskFailure extends Error {
  readonly code: string;
  readonly details: JsonValue | undefined;
  readonly retryable: boolean;

  constructor(code: string, message: string, options?: { details?: JsonValue; retryable?: boolean; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options?.details;
    this.retryable = options?.retryable ?? true;
  }
}

/** A failure that no retry policy may retry. */
export class NonRetryableError extends TaskFailure {
  constructor(message: string, options?: { code?: string; details?: JsonValue; cause?: unknown }) {
    super(options?.code ?? TaskErrorCode.ExecutorError, message, { ...options, retryable: false });
  }
}

/** Turn anything thrown by an executor or hook into the stored `TaskError` shape. */
export function toTaskError(err: unknown, fallbackCode: string = TaskErrorCode.ExecutorError): TaskError {
  if (err instanceof TaskFailure) {
    return err.details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details: err.details };
  }
  if (err instanceof ApflowError) {
    return err.data === undefined
      ? { code: fallbackCode, message: err.message }
      : { code: fallbackCode, message: err.message, details: err.data };
  }
  if (err instanceof Error) return { code: fallbackCode, message: err.message || err.name };
  return { code: fallbackCode, message: typeof err === "string" ? err : "unknown error" };
}

export function isApflowError(err: unknown): err is ApflowError {
  return err instanceof ApflowError;
}

function summarize(errors: ValidationIssue[]): string {
  if (errors.length === 0) return "validation failed";
  const first = errors[0] as ValidationIssue;
  const where = first.path ? `${first.path}: ` : "";
  return errors.length === 1
    ? `${where}${first.message}`
    : `${where}${first.message} (and ${errors.length - 1} more problem${errors.length > 2 ? "s" : ""})`;
}
