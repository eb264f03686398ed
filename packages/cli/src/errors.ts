import { ApflowError, ErrorCode, ValidationError } from "@aipartnerupflow/core";

/**
 * Exit codes of `apflow` — the one place where errors become exit codes.
 *
 * - 0 `Ok`: the command did what was asked (a run: every tree completed).
 * - 1 `Failed`: a tree finished failed or cancelled, or the store/server refused the operation
 *   because of the data's state (invalid transition, already executing, cannot delete), or an
 *   unexpected internal error.
 * - 2 `Usage`: bad arguments or input: unknown option, missing file, invalid JSON, a tree that
 *   does not validate (cycle, unknown reference, ...), an unknown task or executor id.
 * - 3 `Unreachable`: the store or the server cannot be used: connection refused, database
 *   cannot be opened or is not migrated, authentication rejected.
 */
export const ExitCode = { Ok: 0, Failed: 1, Usage: 2, Unreachable: 3 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI raises itself, with the exit code it ends with and optional detail lines. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly details: string[];

  constructor(message: string, exitCode: ExitCode, details: string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
    this.exitCode = exitCode;
    this.details = details;
  }
}

export const usageError = (message: string, details: string[] = []): CliError =>
  new CliError(message, ExitCode.Usage, details);
export const unreachableError = (message: string, cause?: unknown): CliError =>
  new CliError(message, ExitCode.Unreachable, [], { cause });

const USAGE_CODES: ReadonlySet<number> = new Set([
  ErrorCode.ParseError,
  ErrorCode.InvalidRequest,
  ErrorCode.MethodNotFound,
  ErrorCode.InvalidParams,
  ErrorCode.TaskNotFound,
  ErrorCode.CircularDependency,
  ErrorCode.ExecutorNotFound,
  ErrorCode.InvalidTask,
  ErrorCode.InvalidParent,
  ErrorCode.InvalidDependency,
  ErrorCode.TreeValidationFailed,
]);

const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
  "SQLITE_CANTOPEN",
  "SQLITE_NOTADB",
  "SQLITE_BUSY",
  "28P01",
  "3D000",
]);

/** The exit code an error ends the process with. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ApflowError) {
    // Unavailable (-32013): the engine or server is shutting down.
    if (err.code === ErrorCode.Unauthorized || err.code === ErrorCode.Unavailable) return ExitCode.Unreachable;
    return USAGE_CODES.has(err.code) ? ExitCode.Usage : ExitCode.Failed;
  }
  if (isUnreachable(err)) return ExitCode.Unreachable;
  return ExitCode.Failed;
}

/** True for connection-level failures (refused, unknown host, database file unusable). */
export function isUnreachable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** A message and detail lines for the user: never a stack trace (unless APFLOW_DEBUG is set). */
export function describeError(err: unknown, debug = false): { message: string; details: string[] } {
  const details: string[] = [];
  let message: string;
  if (err instanceof CliError) {
    message = err.message;
    details.push(...err.details);
  } else if (err instanceof ValidationError) {
    message = err.errors.length === 1 ? "invalid input:" : `invalid input (${err.errors.length} problems):`;
    for (const issue of err.errors) details.push(`${issue.path ? `${issue.path}: ` : ""}${issue.message}`);
  } else if (err instanceof ApflowError) {
    message = err.message;
    const issues = issuesOf(err.data);
    for (const issue of issues) details.push(issue);
  } else if (err instanceof Error) {
    message = err.message || err.name;
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.message && !message.includes(cause.message))
      details.push(`cause: ${cause.message}`);
  } else {
    message = String(err);
  }
  if (debug && err instanceof Error && err.stack) details.push(err.stack);
  return { message, details };
}

function issuesOf(data: unknown): string[] {
  if (!data || typeof data !== "object") return [];
  const errors = (data as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return [];
  return errors.map((e) => {
    const { path, message } = (e ?? {}) as { path?: unknown; message?: unknown };
    return `${typeof path === "string" && path ? `${path}: ` : ""}${typeof message === "string" ? message : JSON.stringify(e)}`;
  });
}
