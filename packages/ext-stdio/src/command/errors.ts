import { TaskFailure } from "@aipartnerupflow/core";
import type { JsonValue } from "@aipartnerupflow/core";

/**
 * The closed set of codes the `command` executor stores in `task.error.code`. Refusals and
 * invalid requests are not retryable (retrying cannot change the answer); a failed or timed-out
 * program is, so a task's retry policy applies to it.
 */
export const CommandErrorCode = {
  /** The executor is not enabled by configuration. */
  Disabled: "COMMAND_DISABLED",
  /** The program is not on the allow-list, or is a path that the allow-list does not name. */
  NotAllowed: "COMMAND_NOT_ALLOWED",
  /** `shell: true` without `allowShell`. */
  ShellNotAllowed: "COMMAND_SHELL_NOT_ALLOWED",
  /** A task's `env` sets a variable that could subvert the program (LD_PRELOAD, NODE_OPTIONS, ...). */
  EnvNotAllowed: "COMMAND_ENV_NOT_ALLOWED",
  /** The program is allowed but exists nowhere on the search path (or not as an executable file). */
  NotFound: "COMMAND_NOT_FOUND",
  /** `cwd` does not exist or is not a directory. */
  InvalidCwd: "COMMAND_INVALID_CWD",
  /** The inputs do not match the input schema. */
  InvalidInputs: "INVALID_INPUTS",
  /** The operating system refused to start the program (EACCES, E2BIG, ...). */
  SpawnFailed: "COMMAND_SPAWN_FAILED",
  /** The program exited non-zero or was killed by a signal it did not get from us. */
  Failed: "COMMAND_FAILED",
  /** `inputs.timeoutMs` elapsed; the process group was killed. */
  Timeout: "COMMAND_TIMEOUT",
} as const;
export type CommandErrorCode = (typeof CommandErrorCode)[keyof typeof CommandErrorCode];

/** A refusal: final, whatever the task's retry policy says. */
export function refuse(code: CommandErrorCode, message: string, details?: JsonValue): TaskFailure {
  return new TaskFailure(code, message, details === undefined ? { retryable: false } : { details, retryable: false });
}
