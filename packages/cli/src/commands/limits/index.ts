import { LIMIT_SCOPES, type LimitRule, type LimitScope } from "@aipartnerupflow/core";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { CliContext } from "../../context.js";
import { renderTable } from "../../render/table.js";
import { examples, jsonOption, parsePositiveInt } from "../options.js";
import { parseEvery } from "../schedules/index.js";
import { withLimits } from "./backend.js";

/** `--rate 10/1m` (10 starts per minute) as `{starts, perMs}`. */
export function parseRate(value: string): { starts: number; perMs: number } {
  const m = /^(\d+)\/(.+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError("--rate takes starts/interval: 10/1m, 1/30s, 100/1h");
  const starts = Number(m[1]);
  if (!Number.isInteger(starts) || starts <= 0) throw new InvalidArgumentError("--rate needs at least 1 start");
  return { starts, perMs: parseEvery(m[2] as string) };
}

function duration(ms: number): string {
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

function rows(rules: LimitRule[]): string[][] {
  return rules.map((r) => [
    r.scope,
    r.key ?? (r.scope === "global" ? "-" : "(default)"),
    r.maxRunning === undefined ? "-" : String(r.maxRunning),
    r.maxRunningRoots === undefined ? "-" : String(r.maxRunningRoots),
    r.rate === undefined ? "-" : `${r.rate.starts}/${duration(r.rate.perMs)}`,
  ]);
}

const scopeArgument = (command: Command) =>
  command
    .argument("<scope>", `one of ${LIMIT_SCOPES.join(", ")}`)
    .argument("[key]", "user id, root id or executor id (none: the scope's default rule)");

/** `apflow limits set|list|delete`: the store's concurrency and start-rate limits. */
export function registerLimits(program: Command, ctx: CliContext): void {
  const limits = program
    .command("limits")
    .description("concurrency and start-rate limits (every process on the store obeys them)");

  examples(
    jsonOption(
      scopeArgument(limits.command("set").description("create or replace the limit of a scope (and key)"))
        .option("--max-running <n>", "tasks running at once", parsePositiveInt("--max-running"))
        .option(
          "--max-running-roots <n>",
          "user scope: trees with a task running at once",
          parsePositiveInt("--max-running-roots"),
        )
        .addOption(
          new Option("--rate <starts/interval>", "user and executor scopes: task starts per interval").argParser(
            parseRate,
          ),
        ),
    ),
    [
      "apflow limits set global --max-running 20",
      "apflow limits set user --max-running 2          # every user",
      "apflow limits set user alice --max-running 5    # alice instead of the default",
      "apflow limits set executor llm --max-running 3 --rate 60/1m",
    ],
  ).action(
    withLimits(
      ctx,
      async (
        backend,
        opts: {
          maxRunning?: number;
          maxRunningRoots?: number;
          rate?: { starts: number; perMs: number };
          json?: boolean;
        },
        _command,
        scope: string,
        key: string | undefined,
      ) => {
        const rule = await backend.set({
          scope,
          ...(key !== undefined ? { key } : {}),
          ...(opts.maxRunning !== undefined ? { maxRunning: opts.maxRunning } : {}),
          ...(opts.maxRunningRoots !== undefined ? { maxRunningRoots: opts.maxRunningRoots } : {}),
          ...(opts.rate !== undefined ? { rate: opts.rate } : {}),
        });
        if (opts.json) return ctx.json(rule);
        for (const line of renderTable(["SCOPE", "KEY", "MAX RUNNING", "MAX TREES", "RATE"], rows([rule])))
          ctx.out(line);
      },
    ),
  );

  jsonOption(
    limits
      .command("list")
      .description("the limits in force")
      .addOption(new Option("--scope <scope>", "only one scope").choices([...LIMIT_SCOPES])),
  ).action(
    withLimits(ctx, async (backend, opts: { scope?: LimitScope; json?: boolean }) => {
      const { rules } = await backend.list(opts.scope);
      if (opts.json) return ctx.json({ rules });
      if (rules.length === 0) return ctx.out("no limits (every scope is unlimited)");
      for (const line of renderTable(["SCOPE", "KEY", "MAX RUNNING", "MAX TREES", "RATE"], rows(rules))) ctx.out(line);
    }),
  );

  jsonOption(scopeArgument(limits.command("delete").description("delete the limit of a scope (and key)"))).action(
    withLimits(ctx, async (backend, opts: { json?: boolean }, _command, scope: string, key: string | undefined) => {
      const result = await backend.delete(scope as LimitScope, key);
      if (opts.json) return ctx.json(result);
      const what = `${scope} limit${key === undefined ? (scope === "global" ? "" : " (default)") : ` for ${key}`}`;
      ctx.out(result.deleted ? `deleted the ${what}` : `no ${what} to delete`);
    }),
  );
}
