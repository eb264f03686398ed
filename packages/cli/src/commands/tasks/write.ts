import type { JsonObject, TaskPatch } from "@aipartnerupflow/core";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { CliContext } from "../../context.js";
import { usageError } from "../../errors.js";
import { followExecutions } from "../../execution.js";
import { parseJsonObject, readTasksInput } from "../../input.js";
import { renderTree } from "../../render/tree.js";
import { concurrencyOption, examples, jsonOption } from "../options.js";
import { resumedNote, withBackend } from "./shared.js";

interface Json {
  json?: boolean;
}

interface ExecOptions extends Json {
  demo?: boolean;
  live?: boolean;
}

export function registerTaskWrites(tasks: Command, ctx: CliContext): void {
  const create = jsonOption(
    tasks
      .command("create")
      .description("create task trees from a JSON file (or - for stdin) without executing them")
      .argument("<file>", 'JSON file: a task array or {"tasks": [...]}; - reads stdin'),
  ).action(
    withBackend(ctx, async (backend, opts: Json, command, file: string) => {
      const trees = await backend.create(await readTasksInput(file, ctx.io.cwd, ctx.io.stdin));
      if (opts.json) return ctx.json(trees);
      for (const tree of trees) ctx.out(renderTree(tree, { palette: ctx.palette(command) }));
      ctx.out(`created ${trees.length} tree${trees.length === 1 ? "" : "s"}; run with: apflow tasks execute <root-id>`);
    }),
  );
  examples(create, [
    "apflow tasks create tree.json",
    "apflow tasks execute $(apflow tasks create tree.json --json | jq -r '.[0][0].id')",
  ]);

  const execute = tasks
    .command("execute")
    .description(
      "execute an existing tree (or one task and what it needs); on a finished tree re-runs only what failed",
    )
    .argument("<id>", "root id (or the id of a task inside the tree)")
    .option("--all", "re-run every task, completed ones too")
    .option("--demo", "executors return their demo results instead of running")
    .option(
      "--idempotency-key <key>",
      "repeat-safe: executing again with the same key follows the first execution instead of starting another",
    )
    .addOption(concurrencyOption())
    .option("--no-live", "print only the summary")
    .option("--json", "print the final tree as JSON");
  execute.action(
    withBackend(
      ctx,
      async (backend, opts: ExecOptions & { all?: boolean; idempotencyKey?: string }, command, id: string) => {
        const started = await backend.execute(id, {
          ...(opts.demo ? { demo: true } : {}),
          rerun: opts.all ? "all" : "failed",
          ...(opts.idempotencyKey !== undefined ? { idempotencyKey: opts.idempotencyKey } : {}),
        });
        if (started.resumed) ctx.err(resumedNote(started));
        ctx.exitCode = await followExecutions(ctx, backend, [started], {
          json: opts.json ?? false,
          palette: ctx.palette(command),
          live: opts.live ?? true,
        });
      },
    ),
  );
  examples(execute, [
    "apflow tasks execute <root-id>            # re-run failed/cancelled tasks and their dependents",
    "apflow tasks execute <root-id> --all      # re-run everything",
    "apflow tasks execute <root-id> --idempotency-key retry-7   # a repeat follows the first execution",
  ]);

  const copy = tasks
    .command("copy")
    .description(
      "copy a task for re-execution: a new tree linked by originalTaskId (completed dependencies keep their results)",
    )
    .argument("<id>", "task to re-run (e.g. the task that failed)")
    .addOption(
      new Option(
        "--mode <mode>",
        "minimal: the task, its subtree and its dependents; full: the whole tree; custom: --tasks and what they need",
      )
        .choices(["minimal", "full", "custom"])
        .default("minimal"),
    )
    .option("--tasks <ids>", "custom mode: the tasks to re-run (comma-separated)", (v: string) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .option("--with-descendants", "custom mode: also re-run the descendants of --tasks")
    .option("--run", "execute the copy right away")
    .option("--demo", "with --run: executors return their demo results")
    .addOption(concurrencyOption())
    .option("--no-live", "with --run: print only the summary")
    .option("--json", "print the copied tasks (or, with --run, the final tree) as JSON");
  copy.action(
    withBackend(
      ctx,
      async (
        backend,
        opts: ExecOptions & {
          mode: "minimal" | "full" | "custom";
          tasks?: string[];
          withDescendants?: boolean;
          run?: boolean;
        },
        command,
        id: string,
      ) => {
        if (opts.mode === "custom" && !opts.tasks?.length) throw usageError("--mode custom needs --tasks <ids>");
        if (opts.mode !== "custom" && opts.tasks) throw usageError("--tasks is only for --mode custom");
        const copied = await backend.copy(id, {
          mode: opts.mode,
          ...(opts.tasks ? { taskIds: opts.tasks } : {}),
          ...(opts.withDescendants ? { includeDescendants: true } : {}),
        });
        const root = copied.find((t) => t.parentId === null) ?? copied[0];
        if (!root) throw usageError(`nothing to copy for ${id}`);
        if (!opts.run) {
          if (opts.json) return ctx.json(copied);
          ctx.out(renderTree(copied, { palette: ctx.palette(command) }));
          ctx.out(
            `copied ${copied.length} task${copied.length === 1 ? "" : "s"} into tree ${root.id}; run it with: apflow tasks execute ${root.id}`,
          );
          return;
        }
        if (!opts.json) ctx.out(ctx.palette(command).dim(`copy of ${id}: tree ${root.id} (${copied.length} tasks)`));
        const started = await backend.execute(root.id, opts.demo ? { demo: true } : {});
        ctx.exitCode = await followExecutions(ctx, backend, [started], {
          json: opts.json ?? false,
          palette: ctx.palette(command),
          live: opts.live ?? true,
        });
      },
    ),
  );
  examples(copy, [
    "apflow tasks copy <failed-task-id> --run          # re-run only the failed part",
    "apflow tasks copy <root-id> --mode full           # the whole tree; completed tasks keep their results",
    "apflow tasks copy <root-id> --mode custom --tasks <id1>,<id2>",
  ]);

  jsonOption(
    tasks
      .command("update")
      .description("change a task that is not running")
      .argument("<id>", "task id")
      .option("--name <name>", "new name")
      .option("--priority <n>", "0 urgent, 1 high, 2 normal, 3 low", (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 3) throw new InvalidArgumentError("--priority must be 0, 1, 2 or 3");
        return n;
      })
      .option("--inputs <json>", "replace the inputs (a JSON object)")
      .option("--params <json>", "replace the params (a JSON object)")
      .option("--metadata <json>", "replace the metadata (a JSON object)")
      .option("--run-at <time>", "ISO-8601 time not to start before, or 'none'"),
  ).action(
    withBackend(
      ctx,
      async (
        backend,
        opts: Json & {
          name?: string;
          priority?: number;
          inputs?: string;
          params?: string;
          metadata?: string;
          runAt?: string;
        },
        _command,
        id: string,
      ) => {
        const patch: TaskPatch = {};
        if (opts.name !== undefined) patch.name = opts.name;
        if (opts.priority !== undefined) patch.priority = opts.priority;
        if (opts.inputs !== undefined) patch.inputs = parseJsonObject(opts.inputs, "--inputs") as JsonObject;
        if (opts.params !== undefined) patch.params = parseJsonObject(opts.params, "--params") as JsonObject;
        if (opts.metadata !== undefined) patch.metadata = parseJsonObject(opts.metadata, "--metadata") as JsonObject;
        if (opts.runAt !== undefined) patch.runAt = opts.runAt === "none" ? null : opts.runAt;
        if (Object.keys(patch).length === 0)
          throw usageError("nothing to update: pass --name, --priority, --inputs, --params, --metadata or --run-at");
        const task = await backend.update(id, patch);
        if (opts.json) return ctx.json(task);
        ctx.out(`updated ${task.id} (${task.name})`);
      },
    ),
  );

  jsonOption(
    tasks
      .command("delete")
      .description("delete a task and its descendants (refused while running or depended on)")
      .argument("<id>", "task id"),
  ).action(
    withBackend(ctx, async (backend, opts: Json, _command, id: string) => {
      const deleted = await backend.delete(id);
      if (opts.json) return ctx.json({ deleted });
      ctx.out(`deleted ${deleted.length} task${deleted.length === 1 ? "" : "s"}`);
    }),
  );

  jsonOption(
    tasks
      .command("cancel")
      .description("cancel tasks; a root cancels its whole tree (idempotent)")
      .argument("<ids...>", "task ids"),
  ).action(
    withBackend(ctx, async (backend, opts: Json, _command, ids: string[]) => {
      const results = [];
      for (const id of ids) results.push({ id, ...(await backend.cancel(id)) });
      if (opts.json) return ctx.json(results);
      for (const r of results) {
        const parts = [`${r.cancelled.length} cancelled`];
        if (r.running.length > 0)
          parts.push(`${r.running.length} running task${r.running.length === 1 ? "" : "s"} asked to stop`);
        ctx.out(`${r.id}: ${parts.join(", ")}`);
      }
    }),
  );
}
