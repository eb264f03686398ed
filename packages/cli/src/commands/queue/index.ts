import type { Command } from "commander";
import type { CliContext } from "../../context.js";
import { queueReport } from "../../render/waiting.js";
import { examples, jsonOption } from "../options.js";
import { withBackend } from "../tasks/shared.js";

/** `apflow queue stats`: the figures of `tasks.queue.stats` (and `GET /metrics`). */
export function registerQueue(program: Command, ctx: CliContext): void {
  const queue = program.command("queue").description("the task queue (local store, or a server with --server)");
  const stats = jsonOption(
    queue
      .command("stats")
      .description("tasks by status, ready-queue depth and oldest ready age, overall, per user and per executor"),
  ).action(
    withBackend(ctx, async (backend, opts: { json?: boolean }, command) => {
      const report = await backend.queueStats();
      if (opts.json) return ctx.json(report);
      ctx.out(queueReport(report, ctx.palette(command)));
    }),
  );
  examples(stats, ["apflow queue stats", "apflow queue stats --server http://localhost:8000 --json"]);
}
