import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Registry, loadPlugin, registerBuiltins } from "@aipartnerupflow/core";
import { stdioPlugin } from "@aipartnerupflow/ext-stdio";
import { prismaStorePlugin } from "@aipartnerupflow/storage-prisma";
import { type LoadedConfig, type PluginSpec, isPathSpecifier } from "./config.js";
import { CliError, ExitCode } from "./errors.js";

export interface LoadedPlugin {
  name: string;
  specifier: string;
  source: PluginSpec["source"] | "builtin";
}

/**
 * Fill a registry: core's built-in executors, the ext-stdio plugin (always; its `command`
 * executor is configured by the config file's `command` section, then `APFLOW_COMMAND_*`), the
 * ext-llm-agents plugin (keys from `OPENAI_API_KEY`, `ANTHROPIC_API_KEY`, ...), the ext-remote
 * plugin (`http`, `a2a`, `mcp_tool`), then
 * every plugin of `APFLOW_PLUGINS` and the config file. A plugin that cannot load is a usage error.
 */
export async function loadPlugins(
  registry: Registry,
  config: LoadedConfig,
  specs: PluginSpec[],
  cwd: string,
): Promise<LoadedPlugin[]> {
  if (!registry.hasExecutor("aggregate_results")) registerBuiltins(registry);
  // The built-in store (SQLite, PostgreSQL) before any plugin: a plugin's store factory adds a
  // scheme (`mystore://`) or, registered later, wins one.
  await registry.use(prismaStorePlugin);
  const commandOptions = config.file.command;
  await registry.use(stdioPlugin, commandOptions ? { command: commandOptions } : {});
  // The LLM executors come with the CLI so that `apflow run` of an agent tree works out of the
  // box (with a provider key, or `--demo` without one). Imported here, not at the top, so that
  // commands that load no plugins do not pay for the AI SDK.
  const { llmAgentsPlugin } = await import("@aipartnerupflow/ext-llm-agents");
  await registry.use(llmAgentsPlugin, {});
  // http, a2a and mcp_tool; configured by APFLOW_OUTBOUND_ALLOW_HOSTS and APFLOW_MCP_ALLOW_*.
  const { remotePlugin } = await import("@aipartnerupflow/ext-remote");
  await registry.use(remotePlugin, {});
  const loaded: LoadedPlugin[] = [
    { name: stdioPlugin.name, specifier: "@aipartnerupflow/ext-stdio", source: "builtin" },
    { name: llmAgentsPlugin.name, specifier: "@aipartnerupflow/ext-llm-agents", source: "builtin" },
    { name: remotePlugin.name, specifier: "@aipartnerupflow/ext-remote", source: "builtin" },
  ];
  for (const spec of specs) {
    try {
      const plugin = await loadPlugin(registry, spec.specifier, spec.options, { resolve: (s) => importTarget(s, cwd) });
      loaded.push({ name: plugin.name, specifier: spec.specifier, source: spec.source });
    } catch (err) {
      const where = spec.source === "env" ? "APFLOW_PLUGINS" : (config.path ?? "the config file");
      throw new CliError(
        `plugin ${spec.specifier} (from ${where}) could not be loaded: ${(err as Error).message}`,
        ExitCode.Usage,
        [],
        {
          cause: err,
        },
      );
    }
  }
  return loaded;
}

/**
 * What to `import()` for a plugin: a file URL for paths; for a package name, the entry of the
 * package as installed in the working directory's `node_modules` (walking up), so a project's
 * own plugins resolve even when `apflow` is installed elsewhere; else the package as seen from
 * the CLI itself (installed beside it, e.g. globally).
 */
export function importTarget(specifier: string, cwd: string): string {
  if (specifier.startsWith("file:")) return specifier;
  if (isPathSpecifier(specifier)) return pathToFileURL(specifier).href;
  const entry = resolvePackageEntry(specifier, cwd);
  if (entry) return pathToFileURL(entry).href;
  try {
    return import.meta.resolve(specifier);
  } catch {
    return specifier;
  }
}

function resolvePackageEntry(name: string, cwd: string): string | undefined {
  const parts = name.split("/");
  const pkgName = name.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? name);
  const subpath = parts.slice(name.startsWith("@") ? 2 : 1).join("/");
  for (let dir = cwd; ; dir = dirname(dir)) {
    const pkgDir = join(dir, "node_modules", pkgName);
    const manifest = join(pkgDir, "package.json");
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, "utf8")) as { exports?: unknown; module?: string; main?: string };
      const target =
        exportTarget(pkg.exports, subpath ? `./${subpath}` : ".") ??
        (subpath ? `./${subpath}` : (pkg.module ?? pkg.main ?? "index.js"));
      return join(pkgDir, target);
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** The `import` (or `default`) target of one `exports` entry; enough for plugin packages. */
function exportTarget(exports: unknown, key: string): string | undefined {
  if (exports === undefined || exports === null) return undefined;
  if (typeof exports === "string") return key === "." ? exports : undefined;
  if (typeof exports !== "object") return undefined;
  const map = exports as Record<string, unknown>;
  const entry = Object.keys(map).some((k) => k.startsWith(".")) ? map[key] : key === "." ? map : undefined;
  return pickCondition(entry);
}

function pickCondition(entry: unknown): string | undefined {
  if (typeof entry === "string") return entry;
  if (Array.isArray(entry)) return entry.map(pickCondition).find((x) => x !== undefined);
  if (!entry || typeof entry !== "object") return undefined;
  const conditions = entry as Record<string, unknown>;
  for (const c of ["import", "node", "default"]) {
    const t = pickCondition(conditions[c]);
    if (t) return t;
  }
  return undefined;
}
