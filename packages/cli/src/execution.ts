import { ErrorCode, type Task, type TaskEvent, type TreeOutcome } from "@aipartnerupflow/core";
import type { StartedExecution, TaskBackend } from "./backend/types.js";
import type { CliContext } from "./context.js";
import { ExitCode } from "./errors.js";
import type { Palette } from "./render/colors.js";
import { LiveView } from "./render/live.js";
import { renderSummary } from "./render/summary.js";
import { type PromptIo, promptForAnswer } from "./prompt/wait-prompt.js";

export interface ShowOptions {
  json: boolean;
  palette: Palette;
  /** Print events and the final tree (default true); `false` prints only the summary. */
  live?: boolean;
  /** Ctrl-C cancels the trees (default true); `false` leaves them running (watching only). */
  cancelOnInterrupt?: boolean;
  /**
   * Ask for the answer of each task of the trees that waits (docs/semantics.md#waiting) on these
   * streams (a terminal); giving up (Ctrl-C) leaves the task waiting and ends the command.
   */
  prompt?: PromptIo;
}

/** What `--json` prints for a run. */
export interface RunReport {
  status: "completed" | "failed" | "cancelled";
  trees: Array<{ rootId: string; executionId: string; status: TreeOutcome["status"]; tasks: Task[] }>;
}

/**
 * Follow executions to their end: live tree view (or event lines), then the final trees and a
 * summary; Ctrl-C cancels the trees (a second Ctrl-C quits at once). Returns the exit code:
 * 0 only if every tree completed.
 */
export async function followExecutions(
  ctx: CliContext,
  backend: TaskBackend,
  started: readonly StartedExecution[],
  options: ShowOptions,
): Promise<ExitCode> {
  const startedAt = Date.now();
  const live =
    options.json || options.live === false
      ? null
      : new LiveView({ out: ctx.io.stdout, palette: options.palette, redraw: ctx.io.stdout.isTTY === true });
  if (live) for (const s of started) live.track(await backend.tree(s.rootId));

  const abort = new AbortController();
  let interrupted = 0;
  const onSigint = (): void => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    ctx.err("cancelling… (press Ctrl-C again to quit at once)");
    for (const s of started) void backend.cancel(s.rootId).catch(() => undefined);
  };
  const handleInterrupt = options.cancelOnInterrupt !== false;
  if (handleInterrupt) process.on("SIGINT", onSigint);
  let leftWaiting: Task | null = null;
  let giveUp!: () => void;
  const gaveUp = new Promise<null>((resolve) => {
    giveUp = () => resolve(null);
  });
  const asked = new Set<string>();
  let prompts: Promise<void> = Promise.resolve();
  const ask = (taskId: string): void => {
    const io = options.prompt;
    if (!io) return;
    prompts = prompts.then(async () => {
      if (leftWaiting) return;
      const task = await backend.get(taskId).catch(() => null);
      if (task?.status !== "waiting" || !task.wait) return;
      const key = `${task.id}@${task.wait.since}#${task.wait.answers.length}`;
      if (asked.has(key)) return;
      asked.add(key);
      live?.hold(true);
      const answer = await promptForAnswer(task, io, options.palette);
      live?.hold(false);
      if (answer === null) {
        leftWaiting = task;
        giveUp();
        return;
      }
      try {
        const r = await backend.resume(task.id, answer);
        if (!r.resumed) ctx.err(`answer recorded for ${task.name}; it waits for more answers`);
      } catch (err) {
        if ((err as { code?: unknown }).code !== ErrorCode.InvalidTransition) throw err;
        ctx.err(`${task.name} was answered elsewhere meanwhile`);
      }
    });
    prompts.catch((err: unknown) => ctx.err(`could not answer: ${(err as Error).message}`));
  };
  // Off a terminal nothing asks: say once per wait how to answer it from elsewhere (the run waits).
  const hinted = new Set<string>();
  const hint = (taskId: string): void => {
    void backend
      .get(taskId)
      .then((task) => {
        if (task?.status !== "waiting" || !task.wait) return;
        const key = `${task.id}@${task.wait.since}`;
        if (hinted.has(key)) return;
        hinted.add(key);
        ctx.err(
          `${task.name} waits for an answer; this run goes on once it has one: apflow tasks resume ${task.id} --input '${exampleAnswer(task)}'`,
        );
      })
      .catch(() => undefined);
  };
  try {
    const followers = started.map(async (s) => {
      if (!live && !options.prompt) return;
      for await (const event of backend.follow(s, abort.signal) as AsyncIterable<TaskEvent>) {
        live?.apply(event);
        if (event.type === "task.waiting") {
          if (options.prompt) ask(event.taskId);
          else hint(event.taskId);
        }
      }
    });
    const waits = Promise.all(started.map((s) => backend.wait(s)));
    // Giving up on a prompt ends the command while the trees still wait; their waits end on close.
    waits.catch(() => undefined);
    const outcomes = await Promise.race([waits, gaveUp]);
    if (outcomes === null) {
      abort.abort();
      live?.stop();
      const task = leftWaiting as Task | null;
      if (task) {
        ctx.err(
          `left ${task.name} waiting; answer later with: apflow tasks resume ${task.id} --input '${exampleAnswer(task)}'`,
        );
      }
      return ExitCode.Failed;
    }
    abort.abort();
    await Promise.allSettled(followers);
    const ok = outcomes.every((o) => o.status === "completed");
    if (options.json) {
      const report: RunReport = {
        status: ok ? "completed" : outcomes.some((o) => o.status === "failed") ? "failed" : "cancelled",
        trees: outcomes.map((o) => ({
          rootId: o.rootId,
          executionId: o.executionId,
          status: o.status,
          tasks: o.tasks,
        })),
      };
      ctx.json(report);
    } else {
      if (live) {
        live.finish(outcomes.map((o) => o.tasks));
        ctx.out("");
      }
      ctx.out(renderSummary(outcomes, options.palette, Date.now() - startedAt));
    }
    return ok ? ExitCode.Ok : ExitCode.Failed;
  } finally {
    live?.stop();
    abort.abort();
    if (handleInterrupt) process.off("SIGINT", onSigint);
  }
}

/** A plausible answer to show in the hint (an approval's, or an empty object). */
function exampleAnswer(task: Task): string {
  const props = (task.wait?.schema?.properties ?? {}) as Record<string, unknown>;
  return "approved" in props ? '{"approved": true}' : "{}";
}
