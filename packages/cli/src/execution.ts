import type { Task, TaskEvent, TreeOutcome } from "@aipartnerupflow/core";
import type { StartedExecution, TaskBackend } from "./backend/types.js";
import type { CliContext } from "./context.js";
import { ExitCode } from "./errors.js";
import type { Palette } from "./render/colors.js";
import { LiveView } from "./render/live.js";
import { renderSummary } from "./render/summary.js";

export interface ShowOptions {
  json: boolean;
  palette: Palette;
  /** Print events and the final tree (default true); `false` prints only the summary. */
  live?: boolean;
  /** Ctrl-C cancels the trees (default true); `false` leaves them running (watching only). */
  cancelOnInterrupt?: boolean;
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
  try {
    const followers = started.map(async (s) => {
      if (!live) return;
      for await (const event of backend.follow(s, abort.signal) as AsyncIterable<TaskEvent>) live.apply(event);
    });
    const outcomes = await Promise.all(started.map((s) => backend.wait(s)));
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
