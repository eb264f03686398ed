import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { followExecutions } from "../execution.js";
import { readTasksInput } from "../input.js";
import { concurrencyOption, examples } from "./options.js";

interface RunOptions {
  demo?: boolean;
  json?: boolean;
  live?: boolean;
}

export function registerRun(program: Command, ctx: CliContext): void {
  const run = program
    .command("run")
    .description("create task trees from a JSON file (or - for stdin) and execute them, showing live progress")
    .argument("<file>", 'JSON file: a task array or {"tasks": [...]}; several roots make several trees; - reads stdin')
    .option("--demo", "rehearse: executors return their demo results instead of running")
    .addOption(concurrencyOption())
    .option("--no-live", "print only the summary, not the events and the final tree")
    .option("--json", "print the final trees as JSON (no live view)")
    .action(async (file: string, options: RunOptions, command: Command) => {
      const tasks = await readTasksInput(file, ctx.io.cwd, ctx.io.stdin);
      const backend = await ctx.backend(command);
      try {
        const trees = await backend.create(tasks);
        const started = [];
        for (const tree of trees) {
          const root = tree.find((t) => t.parentId === null) ?? tree[0];
          if (root) started.push(await backend.execute(root.id, { demo: options.demo ?? false }));
        }
        ctx.exitCode = await followExecutions(ctx, backend, started, {
          json: options.json ?? false,
          palette: ctx.palette(command),
          live: options.live ?? true,
        });
      } finally {
        await backend.close();
      }
    });
  examples(run, [
    "apflow run examples/hello-world.json",
    "apflow run examples/hello-world.json --demo --concurrency 2",
    "cat tree.json | apflow run -",
    "apflow run tree.json --json | jq .status",
    "apflow run tree.json --server http://localhost:8000   # run on a server",
  ]);
}
