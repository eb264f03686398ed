import { deriveIdempotencyKey } from "@aipartnerupflow/core";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { followExecutions } from "../execution.js";
import { readTasksInput } from "../input.js";
import { concurrencyOption, examples } from "./options.js";

interface RunOptions {
  idempotencyKey?: string;
  demo?: boolean;
  json?: boolean;
  live?: boolean;
  prompt?: boolean;
}

export function registerRun(program: Command, ctx: CliContext): void {
  const run = program
    .command("run")
    .description("create task trees from a JSON file (or - for stdin) and execute them, showing live progress")
    .argument("<file>", 'JSON file: a task array or {"tasks": [...]}; several roots make several trees; - reads stdin')
    .option("--demo", "rehearse: executors return their demo results instead of running")
    .option(
      "--idempotency-key <key>",
      "repeat-safe: running again with the same key (and file) follows the first run instead of starting another",
    )
    .addOption(concurrencyOption())
    .option("--no-live", "print only the summary, not the events and the final tree")
    .option("--json", "print the final trees as JSON (no live view)")
    .option(
      "--no-prompt",
      "do not ask on the terminal when a task waits for an answer (answer with apflow tasks resume)",
    )
    .action(async (file: string, options: RunOptions, command: Command) => {
      const tasks = await readTasksInput(file, ctx.io.cwd, ctx.io.stdin);
      const backend = await ctx.backend(command);
      try {
        const key = options.idempotencyKey;
        const trees = await backend.create(tasks, key !== undefined ? { idempotencyKey: key } : {});
        const started = [];
        for (const [i, tree] of trees.entries()) {
          const root = tree.find((t) => t.parentId === null) ?? tree[0];
          if (!root) continue;
          // Each tree's execution has its own key, made from the run's (the same on every repeat).
          const step = i === 0 ? "execute" : `execute-${i}`;
          started.push(
            await backend.execute(root.id, {
              demo: options.demo ?? false,
              ...(key !== undefined ? { idempotencyKey: deriveIdempotencyKey(key, step) } : {}),
            }),
          );
        }
        const json = options.json ?? false;
        const terminal = (ctx.io.stdin as { isTTY?: boolean }).isTTY === true && ctx.io.stdout.isTTY === true;
        ctx.exitCode = await followExecutions(ctx, backend, started, {
          json,
          palette: ctx.palette(command),
          live: options.live ?? true,
          // On a terminal, a task that waits for an answer asks for it here.
          ...(terminal && !json && options.prompt !== false
            ? { prompt: { input: ctx.io.stdin, output: ctx.io.stdout as unknown as Writable } }
            : {}),
        });
      } finally {
        await backend.close();
      }
    });
  examples(run, [
    "apflow run examples/hello-world.json",
    "apflow run examples/hello-world.json --demo --concurrency 2",
    "apflow run tree.json --idempotency-key nightly-2026-12-01   # a retry runs nothing twice",
    "cat tree.json | apflow run -",
    "apflow run tree.json --json | jq .status",
    "apflow run tree.json --server http://localhost:8000   # run on a server",
  ]);
}
