import { resolveCommandPolicy } from "@aipartnerupflow/ext-stdio";
import type { Command } from "commander";
import { pluginSpecs } from "../config.js";
import type { CliContext } from "../context.js";
import { describeDatabase, redactUrl } from "../store.js";
import { examples, jsonOption } from "./options.js";

export function registerConfig(program: Command, ctx: CliContext): void {
  const config = program.command("config").description("the configuration in effect");
  const show = jsonOption(
    config
      .command("show")
      .description("show the resolved configuration: flags > environment > apflow.config.json > defaults"),
  ).action((opts: { json?: boolean }, command: Command) => {
    const settings = ctx.settings(command);
    const policy = resolveCommandPolicy(ctx.config.file.command, ctx.io.env);
    const shown = {
      configFile: ctx.config.path,
      mode: settings.server ? "remote" : "local",
      database: settings.server ? null : describeDatabase(settings.database, ctx.registry),
      databaseSource: settings.databaseSource,
      server: settings.server ? redactUrl(settings.server) : null,
      token: settings.token ? "(set)" : null,
      concurrency: settings.concurrency,
      allowedExecutors: settings.executors,
      plugins: ctx.plugins.map((p) => ({ name: p.name, specifier: p.specifier, source: p.source })),
      configuredPlugins: pluginSpecs(ctx.config, ctx.io.cwd, ctx.io.env).map((p) => p.specifier),
      commandExecutor: { enabled: policy.enabled, allow: policy.allow, allowShell: policy.allowShell },
      pluginCommands: ctx.registry.listCommands().map((c) => c.name),
    };
    if (opts.json) return ctx.json(shown);
    const c = ctx.palette(command);
    const row = (k: string, v: string) => `${c.gray(k.padEnd(18))}${v}`;
    ctx.out([
      row("config file", shown.configFile ?? "none (apflow.config.json or APFLOW_CONFIG)"),
      row("mode", shown.mode),
      ...(shown.server
        ? [row("server", shown.server), row("token", shown.token ?? "none")]
        : [row("database", `${shown.database} (${shown.databaseSource})`)]),
      row("concurrency", String(shown.concurrency)),
      row("executors allowed", shown.allowedExecutors ? shown.allowedExecutors.join(", ") : "all"),
      row("plugins", shown.plugins.map((p) => `${p.name} (${p.source})`).join(", ")),
      row(
        "command executor",
        shown.commandExecutor.enabled
          ? `enabled; allow: ${shown.commandExecutor.allow.join(", ") || "(nothing)"}${shellNote(policy)}`
          : 'disabled (APFLOW_COMMAND_ENABLED=1 and APFLOW_COMMAND_ALLOW=..., or "command" in the config file)',
      ),
      ...(shown.pluginCommands.length > 0 ? [row("plugin commands", shown.pluginCommands.join(", "))] : []),
    ]);
  });
  examples(show, [
    "apflow config show",
    "APFLOW_COMMAND_ENABLED=1 APFLOW_COMMAND_ALLOW=node apflow config show --json",
  ]);
}

/** The shell runs only with `allowShell` and the shell itself on the allow-list (ext-stdio's rule). */
function shellNote(policy: { allowShell: boolean; allow: string[]; shellPath: string }): string {
  if (!policy.allowShell) return "";
  const base = policy.shellPath.split("/").pop() ?? policy.shellPath;
  return policy.allow.includes(base) || policy.allow.includes(policy.shellPath)
    ? `; shell allowed (${policy.shellPath})`
    : `; allowShell set but ${base} is not on the allow-list, so no shell runs`;
}
