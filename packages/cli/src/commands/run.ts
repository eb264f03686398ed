import type { Writable } from "node:stream";
import { ApflowError, deriveIdempotencyKey, ErrorCode, type Task } from "@aipartnerupflow/core";
import type { Command } from "commander";
import type { TaskBackend } from "../backend/types.js";
import type { CliContext } from "../context.js";
import { CliError, ExitCode } from "../errors.js";
import { followExecutions } from "../execution.js";
import { readTasksInput } from "../input.js";
import { answerApproval, approvalOf } from "../plan.js";
import { concurrencyOption, examples } from "./options.js";

interface RunOptions {
  plan?: string;
  model?: string;
  approve?: boolean;
  idempotencyKey?: string;
  demo?: boolean;
  json?: boolean;
  live?: boolean;
  prompt?: boolean;
}

export function registerRun(program: Command, ctx: CliContext): void {
  const run = program
    .command("run")
    .description(
      "create task trees from a JSON file (or - for stdin), or plan one from a request (--plan), and execute them, showing live progress",
    )
    .argument("[file]", 'JSON file: a task array or {"tasks": [...]}; several roots make several trees; - reads stdin')
    .option(
      "--plan <request>",
      "plan, approve, run: an LLM (generate_tree) turns the request into a tree, which waits for your approval before it runs",
    )
    .option("--model <provider:model>", "with --plan: the planner's model")
    .option(
      "--approve",
      "with --plan: run the plan without asking (otherwise a terminal asks; elsewhere it waits for apflow tasks resume)",
    )
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
    .action(async (file: string | undefined, options: RunOptions, command: Command) => {
      if (file === undefined && options.plan === undefined) {
        throw new CliError("missing required argument 'file' (or --plan <request>)", ExitCode.Usage);
      }
      if (file !== undefined && options.plan !== undefined) {
        throw new CliError("give a task file or --plan <request>, not both", ExitCode.Usage);
      }
      if (options.plan !== undefined && options.idempotencyKey !== undefined) {
        throw new CliError("--idempotency-key works with a task file, not with --plan", ExitCode.Usage);
      }
      const tasks = file !== undefined ? await readTasksInput(file, ctx.io.cwd, ctx.io.stdin) : [];
      const backend = await ctx.backend(command);
      try {
        const key = options.idempotencyKey;
        const trees =
          options.plan !== undefined
            ? [await planned(backend, options.plan, options.model)]
            : await backend.create(tasks, key !== undefined ? { idempotencyKey: key } : {});
        const json = options.json ?? false;
        const terminal = (ctx.io.stdin as { isTTY?: boolean }).isTTY === true && ctx.io.stdout.isTTY === true;
        const prompting = terminal && !json && options.prompt !== false && options.approve !== true;
        // A plan waits at its approval: the terminal prompt asks it (its prompt lists the plan);
        // --approve answers it; otherwise the command says how to.
        const approval = options.plan !== undefined ? approvalOf(trees[0] ?? []) : undefined;
        if (approval) {
          ctx.err(String(approval.inputs.prompt ?? ""));
          if (!options.approve && !prompting) {
            ctx.err(`waiting for approval: apflow tasks resume ${approval.id} --approve (or --reject)`);
          }
        }
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
        if (approval && options.approve) await answerApproval(backend, approval.id, true);
        ctx.exitCode = await followExecutions(ctx, backend, started, {
          json,
          palette: ctx.palette(command),
          live: options.live ?? true,
          // On a terminal, a task that waits for an answer asks for it here.
          ...(prompting ? { prompt: { input: ctx.io.stdin, output: ctx.io.stdout as unknown as Writable } } : {}),
        });
      } finally {
        await backend.close();
      }
    });
  examples(run, [
    'apflow run --plan "check the disk space on the data volume and report"   # needs OPENAI_API_KEY (or another provider)',
    'apflow run --plan "summarise the logs of today" --approve   # no question asked',
    "apflow run examples/hello-world.json",
    "apflow run examples/hello-world.json --demo --concurrency 2",
    "apflow run tree.json --idempotency-key nightly-2026-12-01   # a retry runs nothing twice",
    "cat tree.json | apflow run -",
    "apflow run tree.json --json | jq .status",
    "apflow run tree.json --server http://localhost:8000   # run on a server",
  ]);
}

/** The planned tree (stored, waiting for its approval once executed); a refusal names how to configure a planner. */
async function planned(backend: TaskBackend, requirement: string, model: string | undefined): Promise<Task[]> {
  try {
    return await backend.plan({ requirement, ...(model ? { model } : {}) });
  } catch (err) {
    if (err instanceof ApflowError && err.code === ErrorCode.InvalidParams)
      throw new CliError(err.message, ExitCode.Usage);
    throw err;
  }
}
