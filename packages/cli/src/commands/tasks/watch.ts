import type { Command } from "commander";
import type { CliContext } from "../../context.js";
import { ExitCode } from "../../errors.js";
import { followExecutions } from "../../execution.js";
import { renderTree } from "../../render/tree.js";
import { examples } from "../options.js";
import { resumedNote, withBackend } from "./shared.js";

export function registerTaskWatch(tasks: Command, ctx: CliContext): void {
  const watch = tasks
    .command("watch")
    .description(
      "follow a running tree live until it finishes (exit code as for run); a tree not running is shown once",
    )
    .argument("<id>", "root id (or any task of the tree)")
    .option("--json", "print each event as one JSON line, then nothing else");
  watch.action(
    withBackend(ctx, async (backend, opts: { json?: boolean }, command, id: string) => {
      const running = await backend.running(id);
      for (const r of running) if (r.resumed) ctx.err(resumedNote(r));
      if (running.length === 0) {
        const tree = await backend.tree(id);
        const root = tree.find((t) => t.parentId === null);
        if (opts.json) return;
        ctx.out(renderTree(tree, { palette: ctx.palette(command) }));
        ctx.out(ctx.palette(command).dim(`tree ${root?.id ?? id} is not running`));
        ctx.exitCode =
          !root || root.status === "completed" || root.status === "pending" ? ExitCode.Ok : ExitCode.Failed;
        return;
      }
      if (opts.json) {
        const [first] = running;
        if (!first) return;
        for await (const event of backend.follow(first)) ctx.io.stdout.write(`${JSON.stringify(event)}\n`);
        const outcome = await backend.wait(first);
        ctx.exitCode = outcome.status === "completed" ? ExitCode.Ok : ExitCode.Failed;
        return;
      }
      ctx.exitCode = await followExecutions(ctx, backend, running, {
        json: false,
        palette: ctx.palette(command),
        cancelOnInterrupt: false,
      });
    }),
  );
  examples(watch, [
    "apflow tasks watch <root-id>",
    "apflow tasks watch <root-id> --json | jq -c '{type, taskId, status}'",
  ]);
}
