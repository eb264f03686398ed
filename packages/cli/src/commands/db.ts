import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { renderTable } from "../render/table.js";
import { databaseStatus, describeDatabase, migrateDatabase } from "../store.js";
import { ExitCode } from "../errors.js";
import { examples, jsonOption } from "./options.js";

export function registerDb(program: Command, ctx: CliContext): void {
  const db = program
    .command("db")
    .description("the local database: SQLite file (default ./.apflow/apflow.db) or PostgreSQL (DATABASE_URL)");

  const migrate = jsonOption(
    db.command("migrate").description("apply pending migrations (idempotent; needed once per PostgreSQL deployment)"),
  ).action(async (opts: { json?: boolean }, command: Command) => {
    ctx.requireLocal(command, "db migrate");
    const settings = ctx.settings(command);
    const report = await migrateDatabase(settings.database, ctx.registry);
    if (opts.json) return ctx.json({ database: describeDatabase(settings.database, ctx.registry), ...report });
    ctx.out(`${describeDatabase(settings.database, ctx.registry)}`);
    ctx.out(report.applied.length === 0 ? "up to date: nothing to apply" : report.applied.map((id) => `applied ${id}`));
  });
  examples(migrate, ["apflow db migrate", "DATABASE_URL=postgres://user:pass@db:5432/apflow apflow db migrate"]);

  jsonOption(
    db.command("status").description("applied and pending migrations; exit code 1 when some are pending"),
  ).action(async (opts: { json?: boolean }, command: Command) => {
    ctx.requireLocal(command, "db status");
    const settings = ctx.settings(command);
    const status = await databaseStatus(settings.database, ctx.registry);
    if (status.pending.length > 0) ctx.exitCode = ExitCode.Failed;
    if (opts.json) return ctx.json({ database: describeDatabase(settings.database, ctx.registry), ...status });
    const c = ctx.palette(command);
    ctx.out(describeDatabase(settings.database, ctx.registry));
    const rows = [
      ...status.applied.map((m) => [m.id, c.green("applied"), m.appliedAt]),
      ...status.pending.map((id) => [id, c.yellow("pending"), ""]),
      ...status.unknown.map((id) => [id, c.red("unknown (database is newer than this CLI)"), ""]),
    ];
    ctx.out(rows.length === 0 ? "no migrations" : renderTable(["MIGRATION", "STATE", "APPLIED AT"], rows));
    if (status.pending.length > 0) ctx.out(`run: apflow db migrate`);
  });
}
