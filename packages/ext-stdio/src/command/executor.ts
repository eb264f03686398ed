import {
  type ExecutorContext,
  type ExecutorDefinition,
  TaskErrorCode,
  TaskFailure,
  zodIssues,
} from "@aipartnerupflow/core";
import type { CommandExecutorOptions, CommandResult } from "../types.js";
import { CommandErrorCode, refuse } from "./errors.js";
import { LineSplitter } from "./lines.js";
import { type CommandPolicy, planCommand, resolveCommandPolicy } from "./policy.js";
import { ProgressStream } from "./progress.js";
import { type CommandInputs, commandInputSchema, commandResultSchema } from "./schema.js";
import { reapOrphanedGroup, recordGroup } from "./orphans.js";
import { type RunOutcome, runCommand, SpawnError } from "./spawn.js";

export const COMMAND_EXECUTOR_ID = "command";

/**
 * The `command` executor. Configuration is read on every run from `options` with the environment
 * (`APFLOW_COMMAND_*`) as the fallback for settings the options leave out, so
 * `createCommandExecutor()` is configured by the environment alone.
 */
export function createCommandExecutor(
  options?: CommandExecutorOptions,
  env: NodeJS.ProcessEnv = process.env,
): ExecutorDefinition<CommandInputs, CommandResult> {
  return {
    id: COMMAND_EXECUTOR_ID,
    name: "Command",
    description:
      "Runs an allow-listed program with an argv array (no shell unless allowed), streaming output lines as progress. Disabled unless enabled by configuration.",
    tags: ["stdio", "command", "process"],
    inputSchema: commandInputSchema,
    outputSchema: commandResultSchema,
    cancelable: true,
    demoResult: (inputs) => demoCommandResult(inputs),
    examples: [
      { description: "Print a greeting", inputs: { command: ["echo", "hello"] } },
      {
        description: "Pipe text through a program, with a timeout",
        inputs: { command: ["wc", "-l"], stdin: "a\nb\n", timeoutMs: 10_000 },
      },
    ],
    execute: (inputs, ctx) => executeCommand(inputs, ctx, resolveCommandPolicy(options, env)),
  };
}

/** One run: validate, check the policy, spawn, stream, and map the outcome to a result or a failure. */
export async function executeCommand(
  rawInputs: unknown,
  ctx: ExecutorContext,
  policy: CommandPolicy,
): Promise<CommandResult> {
  const parsed = commandInputSchema.safeParse(rawInputs);
  if (!parsed.success) {
    const errors = zodIssues(parsed.error, "inputs");
    throw refuse(CommandErrorCode.InvalidInputs, errors.map((e) => `${e.path}: ${e.message}`).join("; "), {
      errors: errors.map((e) => ({ ...e })),
    });
  }
  const inputs = parsed.data;
  const plan = await planCommand(inputs, policy);
  // A previous run of this task whose process died may have left its program running.
  await reapOrphanedGroup(ctx.lastCheckpoint, ctx.log);
  ctx.signal.throwIfAborted();

  const progress = new ProgressStream(
    (p, message) => ctx.reportProgress(p, message),
    policy.progress,
    () => null,
    (err) => ctx.log.warn({ err: String(err) }, "command: progress report failed; no further lines are streamed"),
  );
  const streamLines = (prefix: string) =>
    new LineSplitter(
      policy.progress.maxLineLength,
      (line) => progress.line(prefix + line),
      () => progress.take(),
    );
  const outLines = streamLines("");
  const errLines = streamLines("[stderr] ");

  const timeoutMs = inputs.timeoutMs ?? policy.defaultTimeoutMs;
  ctx.log.debug({ program: plan.file, args: plan.args.length, cwd: plan.cwd, timeoutMs }, "command: starting");
  let outcome: RunOutcome;
  try {
    outcome = await runCommand(plan, {
      signal: ctx.signal,
      timeoutMs,
      maxOutputBytes: Math.min(inputs.maxOutputBytes ?? policy.maxOutputBytes, policy.maxOutputBytes),
      killGraceMs: policy.killGraceMs,
      stdin: inputs.stdin,
      onStdout: (chunk) => outLines.push(chunk),
      onStderr: (chunk) => errLines.push(chunk),
      onSpawn: (pid) => {
        const record = recordGroup(pid);
        if (!record) return;
        ctx
          .checkpoint({ ...record })
          .catch((err) => ctx.log.warn({ err: String(err) }, "command: could not record the process group"));
      },
    });
  } catch (err) {
    if (err instanceof SpawnError) throw spawnFailure(plan.file, err.errno);
    throw err;
  }
  outLines.end();
  errLines.end();
  await progress.drain();

  const result: CommandResult = {
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    stdout: outcome.stdout.text(),
    stderr: outcome.stderr.text(),
    truncated: outcome.stdout.truncated || outcome.stderr.truncated,
    stdoutBytes: outcome.stdout.totalBytes,
    stderrBytes: outcome.stderr.totalBytes,
    durationMs: outcome.durationMs,
  };
  const details = {
    exitCode: result.exitCode,
    signal: result.signal,
    stderrTail: outcome.stderr.tail(),
    stdoutTail: outcome.stdout.tail(),
    truncated: result.truncated,
    durationMs: result.durationMs,
  };
  ctx.log.debug({ exitCode: result.exitCode, signal: result.signal, end: outcome.end }, "command: finished");

  if (outcome.end === "aborted") {
    // The engine keeps `details.partialResult` as the cancelled task's result (docs/semantics.md#failure-cancellation-and-completion).
    throw new TaskFailure(TaskErrorCode.Cancelled, "command cancelled: its process group was killed", {
      details: { partialResult: { ...result } },
      retryable: false,
      cause: ctx.signal.reason,
    });
  }
  if (outcome.end === "timeout") {
    throw new TaskFailure(
      CommandErrorCode.Timeout,
      `command timed out after ${timeoutMs} ms: its process group was killed`,
      {
        details: { ...details, timeoutMs: timeoutMs ?? null },
      },
    );
  }
  if ((result.exitCode !== 0 || result.signal !== null) && !inputs.allowNonZeroExit) {
    const how = result.signal !== null ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
    throw new TaskFailure(CommandErrorCode.Failed, `${inputs.command[0]} ${how}`, { details });
  }
  return result;
}

function spawnFailure(file: string, err: NodeJS.ErrnoException): TaskFailure {
  if (err.code === "ENOENT") return refuse(CommandErrorCode.NotFound, `program not found: ${file}`, { program: file });
  return refuse(CommandErrorCode.SpawnFailed, `cannot start ${file}: ${err.message}`, {
    program: file,
    errno: err.code ?? null,
  });
}

/** What demo mode shows: a successful run that echoes what would have run. */
export function demoCommandResult(inputs: Partial<CommandInputs> | undefined): CommandResult {
  const argv = Array.isArray(inputs?.command) ? inputs.command : ["echo", "hello"];
  const stdout = `[demo] would run: ${JSON.stringify(argv)}\n`;
  return {
    exitCode: 0,
    signal: null,
    stdout,
    stderr: "",
    truncated: false,
    stdoutBytes: Buffer.byteLength(stdout),
    stderrBytes: 0,
    durationMs: 12,
  };
}
