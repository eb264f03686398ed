import { readFile } from "node:fs/promises";
import { basename, extname, resolve } from "node:path";
import type { ScheduleRunView, ScheduleView } from "@aipartnerupflow/core";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { CliContext } from "../../context.js";
import { ExitCode, usageError } from "../../errors.js";
import { readStream } from "../../input.js";
import type { Palette } from "../../render/colors.js";
import { formatTime } from "../../render/format.js";
import { renderTable } from "../../render/table.js";
import { examples, jsonOption, parseNonNegativeInt, parsePositiveInt } from "../options.js";
import { withSchedules } from "./backend.js";

/** Timing flags shared by `create` and `update`. */
interface TimingFlags {
  cron?: string;
  tz?: string;
  every?: number;
  at?: string;
  startAt?: string;
  endAt?: string;
  maxRuns?: number;
  catchUp?: "none" | "one" | "all";
  overlap?: "allow" | "skip" | "queue";
  name?: string;
  json?: boolean;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--every 30s|5m|1h|1d|1500ms|60000` as milliseconds. */
export function parseEvery(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError("--every takes a duration: 30s, 5m, 1h, 1d, or milliseconds");
  return Math.round(Number(m[1]) * (UNITS[m[2] ?? "ms"] as number));
}

function timingOptions(command: Command): Command {
  return command
    .option("--cron <expression>", 'cron trigger, 5 or 6 fields (seconds first): "0 9 * * 1-5"')
    .option("--tz <zone>", "time zone of the cron expression (IANA, e.g. Europe/Paris; default UTC)")
    .option("--every <duration>", "interval trigger at a fixed rate: 30s, 5m, 1h, 1d", parseEvery)
    .option("--at <time>", "once trigger: an ISO-8601 time (2030-01-01T09:00:00Z)")
    .option("--start-at <time>", "nothing fires before this ISO-8601 time (intervals count from it)")
    .option("--end-at <time>", "nothing fires after this ISO-8601 time")
    .option("--max-runs <n>", "stop after this many runs", parsePositiveInt("--max-runs"))
    .addOption(
      new Option("--catch-up <policy>", "firings missed while nothing ran: none, one (default), all").choices([
        "none",
        "one",
        "all",
      ]),
    )
    .addOption(
      new Option("--overlap <policy>", "when the previous run is unfinished: allow (default), skip, queue").choices([
        "allow",
        "skip",
        "queue",
      ]),
    );
}

/** The trigger from the flags, or undefined when none was given. More than one is a usage error. */
function triggerOf(flags: TimingFlags): Record<string, unknown> | undefined {
  const given = [flags.cron, flags.every, flags.at].filter((v) => v !== undefined).length;
  if (given > 1) throw usageError("give one trigger: --cron, --every or --at");
  if (flags.tz !== undefined && flags.cron === undefined) throw usageError("--tz goes with --cron");
  if (flags.cron !== undefined)
    return { type: "cron", expression: flags.cron, ...(flags.tz !== undefined ? { timezone: flags.tz } : {}) };
  if (flags.every !== undefined) return { type: "interval", everyMs: flags.every };
  if (flags.at !== undefined) return { type: "once", at: flags.at };
  return undefined;
}

function timingFields(flags: TimingFlags): Record<string, unknown> {
  return {
    ...(flags.startAt !== undefined ? { startAt: flags.startAt } : {}),
    ...(flags.endAt !== undefined ? { endAt: flags.endAt } : {}),
    ...(flags.maxRuns !== undefined ? { maxRuns: flags.maxRuns } : {}),
    ...(flags.catchUp !== undefined ? { catchUp: flags.catchUp } : {}),
    ...(flags.overlap !== undefined ? { overlap: flags.overlap } : {}),
  };
}

/**
 * A schedule file: a task array (the template), `{"tasks": [...]}`, or a whole schedule
 * `{"name", "tasks", "trigger", ...}`; flags win over the file.
 */
async function readScheduleFile(
  source: string,
  ctx: CliContext,
): Promise<{ spec: Record<string, unknown>; label: string }> {
  let text: string;
  let label: string;
  if (source === "-") {
    label = "standard input";
    if ((ctx.io.stdin as { isTTY?: boolean }).isTTY)
      throw usageError("reading the template from standard input, but it is a terminal: pipe a JSON file in");
    text = await readStream(ctx.io.stdin);
  } else {
    const path = resolve(ctx.io.cwd, source);
    label = basename(path, extname(path));
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw usageError(
        code === "ENOENT" ? `file not found: ${path}` : `cannot read ${path}: ${(err as Error).message}`,
      );
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw usageError(`invalid JSON in ${label}: ${(err as Error).message}`);
  }
  if (Array.isArray(value)) return { spec: { tasks: value }, label };
  if (value && typeof value === "object" && Array.isArray((value as { tasks?: unknown }).tasks))
    return { spec: value as Record<string, unknown>, label };
  throw usageError(`${label} must hold a JSON array of tasks, or an object with a "tasks" array (and a "trigger")`);
}

export function describeTrigger(s: Pick<ScheduleView, "trigger">): string {
  const t = s.trigger;
  if (t.type === "cron") return `cron "${t.expression}"${t.timezone ? ` ${t.timezone}` : ""}`;
  if (t.type === "interval") return `every ${formatEvery(t.everyMs)}`;
  return `once at ${formatTime(t.at)}`;
}

function formatEvery(ms: number): string {
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function scheduleRows(schedules: readonly ScheduleView[], c: Palette): string[] {
  return renderTable(
    ["ID", "NAME", "TRIGGER", "NEXT FIRE", "RUNS", "STATE"],
    schedules.map((s) => [
      s.id,
      s.name,
      describeTrigger(s),
      s.nextFireAt ? formatTime(s.nextFireAt) : "-",
      `${s.runs}${s.maxRuns ? `/${s.maxRuns}` : ""}`,
      s.enabled ? (s.nextFireAt ? c.green("enabled") : c.dim("ended")) : c.yellow("disabled"),
    ]),
  );
}

function scheduleDetail(s: ScheduleView): string[] {
  const rows: Array<[string, string]> = [
    ["id", s.id],
    ["name", s.name],
    ["trigger", describeTrigger(s)],
    ["next fire", s.nextFireAt ? formatTime(s.nextFireAt) : "none"],
    ["enabled", s.enabled ? "yes" : "no"],
    ["runs", `${s.runs}${s.maxRuns ? ` of ${s.maxRuns}` : ""}`],
    ["last fire", s.lastFireAt ? formatTime(s.lastFireAt) : "never"],
    ["start at", s.startAt ? formatTime(s.startAt) : "-"],
    ["end at", s.endAt ? formatTime(s.endAt) : "-"],
    ["catch-up", s.catchUp],
    ["overlap", s.overlap],
    ["owner", s.userId ?? "-"],
    ["template", `${s.tasks.length} task${s.tasks.length === 1 ? "" : "s"}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`);
}

function runRows(runs: readonly ScheduleRunView[]): string[] {
  return renderTable(
    ["FIRE TIME", "STATUS", "ROOT", "KIND"],
    runs.map((r) => [formatTime(r.fireAt), r.status, r.rootId ?? "-", r.manual ? "manual" : "scheduled"]),
  );
}

export function registerSchedules(program: Command, ctx: CliContext): void {
  const schedules = program
    .command("schedules")
    .description("run a task tree on a schedule: cron, interval or once (local store, or a server with --server)");

  jsonOption(
    timingOptions(
      schedules
        .command("create")
        .description("store a schedule for a template tree (a task file, or - for standard input)")
        .argument("<file>", 'template: a JSON task array, {"tasks": [...]}, or a whole schedule with a trigger')
        .option("--name <name>", "the schedule's name (default: the file's \"name\", or its file name)")
        .option("--disabled", "store it disabled (enable it with update --enable)"),
    ),
  ).action(
    withSchedules(ctx, async (backend, opts: TimingFlags & { disabled?: boolean }, _command, file: string) => {
      const { spec, label } = await readScheduleFile(file, ctx);
      const trigger = triggerOf(opts) ?? spec.trigger;
      if (trigger === undefined) throw usageError("a schedule needs a trigger: --cron, --every or --at");
      const input = {
        ...spec,
        name: opts.name ?? (typeof spec.name === "string" ? spec.name : label),
        trigger,
        ...timingFields(opts),
        ...(opts.disabled ? { enabled: false } : {}),
      };
      const created = await backend.create(input);
      if (opts.json) return ctx.json(created);
      ctx.out(scheduleDetail(created));
      if (backend.mode === "local")
        ctx.err(
          "it fires while `apflow serve` (or a server on this database) runs; `apflow schedules trigger` runs it now",
        );
    }),
  );
  examples(schedules.commands.at(-1) as Command, [
    "apflow schedules create examples/hello-world.json --cron '0 9 * * 1-5' --tz Europe/Paris",
    "apflow schedules create report.json --every 15m --overlap skip",
    "apflow schedules create once.json --at 2030-01-01T09:00:00Z",
  ]);

  jsonOption(
    schedules
      .command("list")
      .description("list schedules with their next fire times")
      .option("--enabled", "only enabled schedules")
      .option("--disabled", "only disabled schedules")
      .option("-n, --limit <n>", "at most this many (default 100)", parsePositiveInt("--limit"), 100)
      .option("--offset <n>", "skip this many", parseNonNegativeInt("--offset"), 0),
  ).action(
    withSchedules(
      ctx,
      async (
        backend,
        opts: { json?: boolean; enabled?: boolean; disabled?: boolean; limit: number; offset: number },
        command,
      ) => {
        if (opts.enabled && opts.disabled) throw usageError("--enabled and --disabled exclude each other");
        const page = await backend.list({
          ...(opts.enabled ? { enabled: true } : opts.disabled ? { enabled: false } : {}),
          limit: opts.limit,
          offset: opts.offset,
        });
        if (opts.json) return ctx.json(page);
        if (page.schedules.length === 0) return ctx.out("no schedules");
        ctx.out(scheduleRows(page.schedules, ctx.palette(command)));
        if (page.total > opts.offset + page.schedules.length)
          ctx.out(
            `(${page.schedules.length} of ${page.total}; --offset ${opts.offset + page.schedules.length} for more)`,
          );
      },
    ),
  );

  jsonOption(schedules.command("get").description("one schedule and its next fire time").argument("<id>")).action(
    withSchedules(ctx, async (backend, opts: { json?: boolean }, _command, id: string) => {
      const s = await backend.get(id);
      if (opts.json) return ctx.json(s);
      ctx.out(scheduleDetail(s));
    }),
  );

  jsonOption(
    timingOptions(
      schedules
        .command("update")
        .description("change a schedule (a new trigger counts from now: no catch-up)")
        .argument("<id>")
        .option("--name <name>", "rename it")
        .option("--tasks <file>", "a new template tree (JSON task file)")
        .option("--enable", "enable it")
        .option("--disable", "disable it (nothing fires until enabled)"),
    )
      // After --max-runs <n> and --end-at <time>, so that their default stays unset.
      .option("--no-max-runs", "remove the run limit")
      .option("--no-end-at", "remove the end time"),
  ).action(
    withSchedules(
      ctx,
      async (
        backend,
        opts: Omit<TimingFlags, "maxRuns" | "endAt"> & {
          tasks?: string;
          enable?: boolean;
          disable?: boolean;
          maxRuns?: number | boolean;
          endAt?: string | boolean;
        },
        _command,
        id: string,
      ) => {
        if (opts.enable && opts.disable) throw usageError("--enable and --disable exclude each other");
        const { maxRuns, endAt, ...rest } = opts;
        const trigger = triggerOf(rest);
        const patch: Record<string, unknown> = {
          ...(opts.name !== undefined ? { name: opts.name } : {}),
          ...(trigger ? { trigger } : {}),
          ...timingFields({ ...opts, maxRuns: undefined, endAt: undefined }),
          ...(opts.maxRuns === false
            ? { maxRuns: null }
            : typeof opts.maxRuns === "number"
              ? { maxRuns: opts.maxRuns }
              : {}),
          ...(opts.endAt === false ? { endAt: null } : typeof opts.endAt === "string" ? { endAt: opts.endAt } : {}),
          ...(opts.enable ? { enabled: true } : opts.disable ? { enabled: false } : {}),
        };
        if (opts.tasks !== undefined) patch.tasks = (await readScheduleFile(opts.tasks, ctx)).spec.tasks;
        if (Object.keys(patch).length === 0) throw usageError("nothing to change: give at least one option");
        const s = await backend.update(id, patch);
        if (opts.json) return ctx.json(s);
        ctx.out(scheduleDetail(s));
      },
    ),
  );

  jsonOption(
    schedules.command("delete").description("delete a schedule (the trees it fired stay)").argument("<id>"),
  ).action(
    withSchedules(ctx, async (backend, opts: { json?: boolean }, _command, id: string) => {
      const result = await backend.delete(id);
      if (opts.json) return ctx.json(result);
      ctx.out(`deleted schedule ${id}`);
    }),
  );

  jsonOption(
    schedules
      .command("trigger")
      .description("fire a schedule now (local mode runs the tree here and waits for it)")
      .argument("<id>"),
  ).action(
    withSchedules(ctx, async (backend, opts: { json?: boolean }, _command, id: string) => {
      const fired = await backend.trigger(id);
      const outcome = await backend.wait(fired);
      if (outcome && outcome.status !== "completed") ctx.exitCode = ExitCode.Failed;
      if (opts.json) return ctx.json({ ...fired, ...(outcome ? { status: outcome.status } : {}) });
      ctx.out(
        `fired ${id} at ${formatTime(fired.fireAt)}: tree ${fired.rootId}${outcome ? ` ${outcome.status}` : " (running on the server)"}`,
      );
    }),
  );

  jsonOption(
    schedules
      .command("runs")
      .description("a schedule's fire times, newest first, with each tree's status")
      .argument("<id>")
      .option("-n, --limit <n>", "at most this many (default 20)", parsePositiveInt("--limit"), 20),
  ).action(
    withSchedules(ctx, async (backend, opts: { json?: boolean; limit: number }, _command, id: string) => {
      const result = await backend.runs(id, opts.limit);
      if (opts.json) return ctx.json(result);
      if (result.runs.length === 0) return ctx.out("no runs yet");
      ctx.out(runRows(result.runs));
    }),
  );

  examples(schedules, [
    "apflow schedules create examples/hello-world.json --every 1h",
    "apflow schedules list",
    "apflow schedules runs <schedule-id>",
    "apflow schedules trigger <schedule-id>",
    "apflow schedules update <schedule-id> --disable",
  ]);
}
