import {
  type AttemptRecord,
  TASK_STATUSES,
  type Task,
  type TaskStatus,
  type Waiting,
  executorIdOf,
} from "@aipartnerupflow/core";
import { type Command, InvalidArgumentError } from "commander";
import type { CliContext } from "../../context.js";
import type { Palette } from "../../render/colors.js";
import { formatTime, percent, statusText } from "../../render/format.js";
import { renderTable } from "../../render/table.js";
import { renderTree } from "../../render/tree.js";
import { attemptTable, waitingLine } from "../../render/waiting.js";
import { examples, jsonOption, parseNonNegativeInt, parsePositiveInt } from "../options.js";
import { withBackend } from "./shared.js";

interface Json {
  json?: boolean;
}

function parseStatuses(value: string, previous: TaskStatus[] = []): TaskStatus[] {
  const out = [...previous];
  for (const s of value
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    if (!(TASK_STATUSES as readonly string[]).includes(s)) {
      throw new InvalidArgumentError(`unknown status "${s}" (one of ${TASK_STATUSES.join(", ")})`);
    }
    out.push(s as TaskStatus);
  }
  return out;
}

export function taskRows(tasks: readonly Task[], c: Palette): string[] {
  return renderTable(
    ["ID", "NAME", "STATUS", "PROGRESS", "EXECUTOR", "CREATED"],
    tasks.map((t) => [
      t.id,
      t.name,
      statusText(t.status, c),
      percent(t.progress),
      executorIdOf(t).id ?? "-",
      formatTime(t.createdAt),
    ]),
  );
}

export function registerTaskReads(tasks: Command, ctx: CliContext): void {
  const list = jsonOption(
    tasks
      .command("list")
      .description("list tasks, newest first")
      .option("-s, --status <status>", "only these statuses (comma-separated, repeatable)", parseStatuses)
      .option("--root <id>", "only the tasks of this tree")
      .option("--parent <id>", "only the children of this task")
      .option("--roots", "only roots (one line per tree)")
      .option("--user <id>", "only tasks owned by this user")
      .option("-n, --limit <n>", "at most this many (default 20)", parsePositiveInt("--limit"), 20)
      .option("--offset <n>", "skip this many", parseNonNegativeInt("--offset"), 0),
  ).action(
    withBackend(
      ctx,
      async (
        backend,
        opts: Json & {
          status?: TaskStatus[];
          root?: string;
          parent?: string;
          roots?: boolean;
          user?: string;
          limit: number;
          offset: number;
        },
        command,
      ) => {
        const page = await backend.list({
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.root ? { rootId: opts.root } : {}),
          ...(opts.parent ? { parentId: opts.parent } : {}),
          ...(opts.roots ? { rootsOnly: true } : {}),
          ...(opts.user ? { userId: opts.user } : {}),
          limit: opts.limit,
          offset: opts.offset,
        });
        if (opts.json) return ctx.json(page);
        if (page.tasks.length === 0)
          return ctx.out(page.total === 0 ? "no tasks" : `no tasks at offset ${opts.offset} (total ${page.total})`);
        ctx.out(taskRows(page.tasks, ctx.palette(command)));
        ctx.out(ctx.palette(command).dim(`${opts.offset + 1}-${opts.offset + page.tasks.length} of ${page.total}`));
      },
    ),
  );
  examples(list, ["apflow tasks list --roots", "apflow tasks list --status failed,cancelled --json"]);

  jsonOption(
    tasks
      .command("get")
      .description("show one task with its inputs, result and error, why it waits, and its attempt history")
      .argument("<id>", "task id"),
  ).action(
    withBackend(ctx, async (backend, opts: Json, command, id: string) => {
      const { task, attempts, waiting } = await backend.inspect(id);
      if (opts.json) return ctx.json({ ...task, waiting, attempts });
      ctx.out(taskDetail(task, ctx.palette(command), waiting, attempts));
    }),
  );

  jsonOption(
    tasks
      .command("tree")
      .description("show a task and its descendants as a tree (the whole tree for a root)")
      .argument("<id>", "task id")
      .option("--results", "show a preview of each completed task's result"),
  ).action(
    withBackend(ctx, async (backend, opts: Json & { results?: boolean }, command, id: string) => {
      const tree = subtree(await backend.tree(id), id);
      if (opts.json) return ctx.json(tree);
      const waiting = await backend.treeWaiting(tree);
      ctx.out(renderTree(tree, { palette: ctx.palette(command), results: opts.results ?? false, waiting }));
    }),
  );

  jsonOption(
    tasks.command("children").description("list the direct children of a task").argument("<id>", "task id"),
  ).action(
    withBackend(ctx, async (backend, opts: Json, command, id: string) => {
      const children = await backend.children(id);
      if (opts.json) return ctx.json(children);
      ctx.out(children.length === 0 ? "no children" : taskRows(children, ctx.palette(command)));
    }),
  );

  jsonOption(
    tasks.command("status").description("status and progress of one or more tasks").argument("<ids...>", "task ids"),
  ).action(
    withBackend(ctx, async (backend, opts: Json, command, ids: string[]) => {
      const found = await Promise.all(ids.map((id) => backend.get(id)));
      const rows = found.map((t) => ({
        id: t.id,
        name: t.name,
        status: t.status,
        progress: t.progress,
        error: t.error,
      }));
      if (opts.json) return ctx.json(rows);
      const c = ctx.palette(command);
      ctx.out(
        renderTable(
          ["ID", "NAME", "STATUS", "PROGRESS", "ERROR"],
          rows.map((r) => [
            r.id,
            r.name,
            statusText(r.status, c),
            percent(r.progress),
            r.error ? `${r.error.code}: ${r.error.message}` : "",
          ]),
        ),
      );
    }),
  );

  jsonOption(
    tasks
      .command("count")
      .description("count tasks by status")
      .option("--root <id>", "only the tasks of this tree")
      .option("--roots", "count trees (roots) instead of tasks")
      .option("--user <id>", "only tasks owned by this user"),
  ).action(
    withBackend(ctx, async (backend, opts: Json & { root?: string; roots?: boolean; user?: string }, command) => {
      const counts = await backend.count({
        ...(opts.root ? { rootId: opts.root } : {}),
        ...(opts.roots ? { rootsOnly: true } : {}),
        ...(opts.user ? { userId: opts.user } : {}),
      });
      const total = TASK_STATUSES.reduce((n, s) => n + (counts[s] ?? 0), 0);
      if (opts.json) return ctx.json({ ...counts, total });
      const c = ctx.palette(command);
      ctx.out(
        renderTable(
          ["STATUS", "COUNT"],
          [...TASK_STATUSES.map((s) => [statusText(s, c), String(counts[s] ?? 0)]), [c.bold("total"), String(total)]],
        ),
      );
    }),
  );

  const events = jsonOption(
    tasks
      .command("events")
      .description("the persisted events of a tree (given its root) or of one task")
      .argument("<id>", "task id")
      .option("--after <seq>", "only events after this sequence number", parseNonNegativeInt("--after"))
      .option("-n, --limit <n>", "at most this many", parsePositiveInt("--limit")),
  ).action(
    withBackend(ctx, async (backend, opts: Json & { after?: number; limit?: number }, command, id: string) => {
      const list = await backend.events({
        id,
        ...(opts.after !== undefined ? { afterSeq: opts.after } : {}),
        ...(opts.limit ? { limit: opts.limit } : {}),
      });
      if (opts.json) return ctx.json(list);
      if (list.length === 0) return ctx.out("no events");
      const c = ctx.palette(command);
      ctx.out(
        renderTable(
          ["SEQ", "AT", "TYPE", "TASK", "STATUS", "DETAIL"],
          list.map((e) => [
            String(e.seq),
            formatTime(e.at),
            e.type,
            e.taskId,
            statusText(e.status, c),
            e.error
              ? `${e.error.code}: ${e.error.message}`
              : e.type === "task.progress"
                ? `${percent(e.progress ?? 0)} ${e.message ?? ""}`.trim()
                : "",
          ]),
        ),
      );
    }),
  );
  examples(events, ["apflow tasks events <root-id>", "apflow tasks events <root-id> --after 120 --json"]);
}

/** `id` and its descendants, in the order given. */
export function subtree(tree: readonly Task[], id: string): Task[] {
  const keep = new Set([id]);
  for (const t of tree) if (t.parentId !== null && keep.has(t.parentId)) keep.add(t.id);
  return tree.filter((t) => keep.has(t.id));
}

function taskDetail(t: Task, c: Palette, waiting: Waiting | null, attempts: readonly AttemptRecord[]): string[] {
  const field = (k: string, v: string) => `${c.gray(k.padEnd(15))}${v}`;
  const json = (v: unknown) =>
    JSON.stringify(v, null, 2)
      .split("\n")
      .join(`\n${" ".repeat(15)}`);
  const lines = [
    field("id", t.id),
    field("name", c.bold(t.name)),
    field("status", statusText(t.status, c)),
    ...(waiting ? [field("waiting", waitingLine(waiting, c))] : []),
    field("progress", percent(t.progress)),
    field("executor", executorIdOf(t).id ?? "-"),
    field("priority", String(t.priority)),
    field("parent", t.parentId ?? "-"),
    field("root", t.rootId),
    field("user", t.userId ?? "-"),
    field("attempt", String(t.attempt)),
  ];
  if (t.originalTaskId) lines.push(field("copied from", t.originalTaskId));
  if (t.dependencies.length > 0)
    lines.push(
      field("dependencies", t.dependencies.map((d) => `${d.id}${d.required ? "" : " (optional)"}`).join(", ")),
    );
  if (t.runAt) lines.push(field("run at", formatTime(t.runAt)));
  lines.push(field("created", formatTime(t.createdAt)));
  if (t.startedAt) lines.push(field("started", formatTime(t.startedAt)));
  if (t.completedAt) lines.push(field("finished", formatTime(t.completedAt)));
  if (Object.keys(t.inputs).length > 0) lines.push(field("inputs", json(t.inputs)));
  if (Object.keys(t.params).length > 0) lines.push(field("params", json(t.params)));
  if (Object.keys(t.metadata).length > 0) lines.push(field("metadata", json(t.metadata)));
  if (t.error) lines.push(field("error", `${c.red(t.error.code)}: ${t.error.message}`));
  if (t.result !== null) lines.push(field("result", json(t.result)));
  if (attempts.length > 0) lines.push("", c.bold("attempts"), ...attemptTable(attempts, c));
  return lines;
}
