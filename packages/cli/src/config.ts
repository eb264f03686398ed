import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { usageError } from "./errors.js";

/** The file the CLI reads from the working directory when `APFLOW_CONFIG` names none. */
export const CONFIG_FILE_NAME = "apflow.config.json";

const pluginEntrySchema = z.union([
  z.string().min(1),
  z.strictObject({ name: z.string().min(1), options: z.record(z.string(), z.unknown()).optional() }),
]);

/** `apflow.config.json`. Every field is optional; flags and environment variables win over it. */
export const configFileSchema = z.strictObject({
  $schema: z.string().optional(),
  /** Database URL: a SQLite file path / `file:` URL, or `postgres://...`. */
  database: z.string().min(1).optional(),
  /** Server URL for remote mode. */
  server: z.string().url().optional(),
  /** Plugins to load: package names or paths (relative to the config file). */
  plugins: z.array(pluginEntrySchema).optional(),
  /** Options of the `command` executor (ext-stdio), e.g. `{ "enabled": true, "allow": ["node"] }`. */
  command: z
    .looseObject({
      enabled: z.boolean().optional(),
      allow: z.array(z.string().min(1)).optional(),
      allowShell: z.boolean().optional(),
    })
    .optional(),
  /** Executor ids allowed to run (all when omitted). */
  executors: z.array(z.string().min(1)).optional(),
  /** Tasks the local engine runs at once. */
  concurrency: z.number().int().positive().optional(),
  /** `apflow serve` / `daemon start` listen address. */
  serve: z
    .strictObject({ host: z.string().min(1).optional(), port: z.number().int().min(0).max(65535).optional() })
    .optional(),
});
export type ConfigFile = z.infer<typeof configFileSchema>;

export interface PluginSpec {
  /** Package name or absolute path. */
  specifier: string;
  options: Record<string, unknown>;
  /** Where it was configured: `APFLOW_PLUGINS` or the config file. */
  source: "env" | "config";
}

export interface LoadedConfig {
  /** The config file read, or null when there is none. */
  path: string | null;
  file: ConfigFile;
}

/** Read `APFLOW_CONFIG`, else `./apflow.config.json` when present. A broken file is a usage error. */
export function loadConfig(cwd: string, env: NodeJS.ProcessEnv): LoadedConfig {
  const explicit = env.APFLOW_CONFIG?.trim();
  const path = explicit ? resolve(cwd, explicit) : resolve(cwd, CONFIG_FILE_NAME);
  if (!existsSync(path)) {
    if (explicit) throw usageError(`config file not found: ${path} (from APFLOW_CONFIG)`);
    return { path: null, file: {} };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw usageError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw usageError(
      `config file ${path} is invalid:`,
      parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`),
    );
  }
  return { path, file: parsed.data };
}

/** Plugins from `APFLOW_PLUGINS` (comma-separated) and the config file, in that order, once each. */
export function pluginSpecs(config: LoadedConfig, cwd: string, env: NodeJS.ProcessEnv): PluginSpec[] {
  const specs: PluginSpec[] = [];
  const seen = new Set<string>();
  const add = (spec: PluginSpec): void => {
    if (seen.has(spec.specifier)) return;
    seen.add(spec.specifier);
    specs.push(spec);
  };
  for (const name of (env.APFLOW_PLUGINS ?? "").split(",").map((s) => s.trim())) {
    if (name) add({ specifier: absoluteIfPath(name, cwd), options: {}, source: "env" });
  }
  const base = config.path ? dirname(config.path) : cwd;
  for (const entry of config.file.plugins ?? []) {
    const { name, options } =
      typeof entry === "string" ? { name: entry, options: {} } : { name: entry.name, options: entry.options ?? {} };
    add({ specifier: absoluteIfPath(name, base), options, source: "config" });
  }
  return specs;
}

/** `./x.js`, `../x.js`, `/x.js` and `file:` URLs are paths; anything else is a package name. */
export function isPathSpecifier(specifier: string): boolean {
  return /^(\.{1,2}[\\/]|[\\/]|file:|[A-Za-z]:[\\/])/.test(specifier);
}

function absoluteIfPath(specifier: string, base: string): string {
  if (!isPathSpecifier(specifier) || specifier.startsWith("file:")) return specifier;
  return resolve(base, specifier);
}

/** The settings every command reads, after flags > environment > config file > defaults. */
export interface Settings {
  /** Database URL, or undefined for the embedded default. */
  database: string | undefined;
  databaseSource: "flag" | "APFLOW_DATABASE_URL" | "DATABASE_URL" | "config" | "default";
  server: string | undefined;
  token: string | undefined;
  concurrency: number;
  executors: string[] | null;
}

export interface SettingFlags {
  db?: string;
  server?: string;
  token?: string;
  concurrency?: number;
}

export function resolveSettings(config: LoadedConfig, env: NodeJS.ProcessEnv, flags: SettingFlags = {}): Settings {
  const nonEmpty = (v: string | undefined) => (v !== undefined && v.trim() !== "" ? v.trim() : undefined);
  let database: string | undefined;
  let databaseSource: Settings["databaseSource"] = "default";
  if (nonEmpty(flags.db)) [database, databaseSource] = [nonEmpty(flags.db), "flag"];
  else if (nonEmpty(env.APFLOW_DATABASE_URL))
    [database, databaseSource] = [nonEmpty(env.APFLOW_DATABASE_URL), "APFLOW_DATABASE_URL"];
  else if (nonEmpty(env.DATABASE_URL)) [database, databaseSource] = [nonEmpty(env.DATABASE_URL), "DATABASE_URL"];
  else if (config.file.database) {
    database = config.file.database;
    databaseSource = "config";
    // A relative SQLite path in the config file is relative to the file.
    if (config.path && !/^[a-z][a-z0-9+.-]*:/i.test(database)) database = resolve(dirname(config.path), database);
  }
  const concurrencyEnv = nonEmpty(env.APFLOW_CONCURRENCY);
  let concurrency =
    flags.concurrency ?? (concurrencyEnv ? Number(concurrencyEnv) : undefined) ?? config.file.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency <= 0) {
    throw usageError(`concurrency must be a positive integer, got ${flags.concurrency ?? concurrencyEnv}`);
  }
  concurrency = Math.min(concurrency, 10_000);
  const executorsEnv = nonEmpty(env.APFLOW_EXECUTORS);
  return {
    database,
    databaseSource,
    server: nonEmpty(flags.server) ?? nonEmpty(env.APFLOW_SERVER) ?? config.file.server,
    token: nonEmpty(flags.token) ?? nonEmpty(env.APFLOW_TOKEN),
    concurrency,
    executors: executorsEnv
      ? executorsEnv
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : (config.file.executors ?? null),
  };
}
