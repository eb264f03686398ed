import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { renderTable } from "../render/table.js";
import { examples, jsonOption } from "./options.js";

export function registerExecutors(program: Command, ctx: CliContext): void {
  const executors = program.command("executors").description("the executors this CLI can run (built-ins and plugins)");
  const list = jsonOption(
    executors.command("list").description("list executors with their description and tags"),
  ).action((opts: { json?: boolean }, command: Command) => {
    const all = ctx.registry.listExecutors().sort((a, b) => a.id.localeCompare(b.id));
    if (opts.json) return ctx.json(all);
    const c = ctx.palette(command);
    const allowed = (id: string) => (ctx.registry.isAllowed(id) ? "" : c.yellow(" (not allowed by APFLOW_EXECUTORS)"));
    ctx.out(
      renderTable(
        ["ID", "TAGS", "DESCRIPTION"],
        all.map((e) => [c.bold(e.id), e.tags.join(",") || "-", `${e.description}${allowed(e.id)}`]),
      ),
    );
  });
  examples(list, ["apflow executors list", "apflow executors list --json | jq '.[].id'"]);
}
