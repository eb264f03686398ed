import { spawn } from "node:child_process";
import { GroupTerminator } from "./group.js";
import { OutputCapture } from "./output.js";
import type { SpawnPlan } from "./policy.js";

export interface RunOptions {
  /** Aborting kills the process group. */
  signal: AbortSignal;
  timeoutMs: number | undefined;
  maxOutputBytes: number;
  killGraceMs: number;
  stdin: string | undefined;
  /** Raw output as it arrives (for line streaming). */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Called once the program runs, with its pid (which is also its process group id). */
  onSpawn?: (pid: number) => void;
}

/** Why the run ended: the program exited by itself, our timeout fired, or the signal aborted. */
export type RunEnd = "exit" | "timeout" | "aborted";

export interface RunOutcome {
  end: RunEnd;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: OutputCapture;
  stderr: OutputCapture;
  durationMs: number;
  pid: number;
}

/** The OS refused to start the program (ENOENT, EACCES, ...). */
export class SpawnError extends Error {
  constructor(readonly errno: NodeJS.ErrnoException) {
    super(errno.message, { cause: errno });
    this.name = "SpawnError";
  }
}

/**
 * Run a plan to completion. The program leads its own process group (detached); timeout and abort
 * send SIGTERM to the whole group, then SIGKILL after `killGraceMs`. When the program exits by
 * itself, whatever is left of its group is torn down the same way, so nothing outlives the call
 * (short of a child that leaves the group with setsid). Resolves after the program's stdio closed.
 */
export async function runCommand(plan: SpawnPlan, options: RunOptions): Promise<RunOutcome> {
  const started = performance.now();
  const stdout = new OutputCapture(options.maxOutputBytes);
  const stderr = new OutputCapture(options.maxOutputBytes);
  const child = spawn(plan.file, plan.args, {
    cwd: plan.cwd,
    env: plan.env,
    detached: true,
    shell: false,
    windowsHide: true,
    stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  const pid = child.pid;
  if (pid === undefined) {
    throw new SpawnError(await new Promise<NodeJS.ErrnoException>((resolve) => child.once("error", resolve)));
  }

  // After a successful start, ChildProcess only emits "error" for failed kill()/send(), which we
  // never call; a listener still keeps a surprise from becoming an uncaught exception.
  child.on("error", () => {});
  options.onSpawn?.(pid);
  const group = new GroupTerminator(pid, options.killGraceMs);
  let end: RunEnd = "exit";
  let exited = false;
  const stop = (why: RunEnd) => {
    // Once the program exited by itself, a late abort only tears down what it left behind.
    if (!exited && end === "exit" && !group.terminating) end = why;
    group.terminate();
  };
  const onAbort = () => stop("aborted");
  options.signal.addEventListener("abort", onAbort, { once: true });
  if (options.signal.aborted) onAbort();
  const timer = options.timeoutMs !== undefined ? setTimeout(() => stop("timeout"), options.timeoutMs) : undefined;

  child.stdout!.on("data", (chunk: Buffer) => {
    stdout.push(chunk);
    options.onStdout?.(chunk);
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr.push(chunk);
    options.onStderr?.(chunk);
  });
  if (child.stdin) {
    // The program may exit without reading its input: EPIPE is not an error of ours.
    child.stdin.on("error", () => {});
    child.stdin.end(options.stdin);
  }

  let drainTimer: NodeJS.Timeout | undefined;
  try {
    const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.once("exit", (code, sig) => {
        exited = true;
        if (timer) clearTimeout(timer);
        resolve([code, sig]);
      });
    });
    // Children that outlived the program still hold its pipes: tear the group down, and stop
    // waiting for the pipes once it has had the grace period plus a moment to let go of them.
    const settled = group.settle();
    drainTimer = setTimeout(() => {
      child.stdout!.destroy();
      child.stderr!.destroy();
    }, options.killGraceMs + 1000);
    await Promise.all([closed, settled]);
    return {
      end,
      exitCode,
      signal,
      stdout,
      stderr,
      durationMs: Math.round(performance.now() - started),
      pid,
    };
  } finally {
    if (timer) clearTimeout(timer);
    if (drainTimer) clearTimeout(drainTimer);
    group.dispose();
    options.signal.removeEventListener("abort", onAbort);
  }
}
