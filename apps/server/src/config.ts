import { readFileSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import {
  type LimitRule,
  PLACEMENT_GRANULARITIES,
  type PlacementGranularity,
  parseLimitRules,
  ValidationError,
} from "@aipartnerupflow/core";

/** Everything the server reads from its environment and optional JSON config file. */
export interface ServerConfig {
  port: number;
  host: string;
  /** `file:…`/path for SQLite, `postgres://…` for PostgreSQL; the store's default file when unset. */
  databaseUrl: string | undefined;
  /** Package names loaded as plugins. */
  plugins: string[];
  /** Options per plugin package name (config file only). */
  pluginOptions: Record<string, Record<string, unknown>>;
  /** Executors allowed to run; all when null. */
  executors: string[] | null;
  jwtSecret: string | undefined;
  jwksUrl: string | undefined;
  /** Required `iss` of every token when set. */
  jwtIssuer: string | undefined;
  /** Required `aud` of every token when set. */
  jwtAudience: string | undefined;
  corsOrigins: string[];
  demo: boolean;
  /** Tasks run at once by this process. */
  concurrency: number;
  bodyLimitBytes: number;
  rateLimit: { burst: number; perSecond: number } | undefined;
  webhookSecret: string | undefined;
  /** Internal hosts (`name` or `name:port`) webhooks and push notifications may reach anyway. */
  webhookAllowHosts: string[];
  /** Host names clients may use besides loopback ones (`APFLOW_ALLOWED_HOSTS`; DNS-rebinding protection). */
  allowedHosts: string[];
  publicUrl: string | undefined;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  /** How long running tasks may finish on shutdown before they are handed back. */
  shutdownGraceMs: number;
  /** Serve the Python original's API (`APFLOW_COMPAT`, default on). */
  compat: boolean;
  /** Where (`APFLOW_COMPAT_PATH`, default `/compat`). */
  compatPath: string;
  /** Whether its `config.llm_key.*` may hold per-user LLM keys in memory (`APFLOW_COMPAT_LLM_KEYS`). */
  compatStoredLlmKeys: boolean;
  /** Serve the web dashboard at `/ui` (`APFLOW_DASHBOARD=0` turns it off). */
  dashboard: boolean;
  /** Whether this server runs tasks (`APFLOW_EXECUTE`, default on); off: producer-only (accepts and queues). */
  execute: boolean;
  /** This node's id in the registry and in leases (`APFLOW_NODE_ID`; default host:pid:random). */
  nodeId: string | undefined;
  /** This node's tags (`APFLOW_NODE_TAGS`). */
  nodeTags: string[];
  /** Lease length (`APFLOW_LEASE_MS`, default 30 s). */
  leaseMs: number;
  /** Node heartbeat (`APFLOW_HEARTBEAT_MS`, default 2 s). */
  heartbeatMs: number;
  /** Silent this long, a node counts as dead (`APFLOW_DEAD_AFTER_MS`; default 5 beats, >= 10 s). */
  deadAfterMs: number | undefined;
  /** Limit rules set in the store at start (`APFLOW_LIMITS`, a JSON array; each replaces its scope and key). */
  limits: LimitRule[];
  /**
   * Wake-ups (`APFLOW_WAKEUPS`): `postgres`, `postgres-app`, `redis://…`, `nats://…`, `amqp://…`,
   * `polling` or `none`; default LISTEN/NOTIFY on a PostgreSQL store, none otherwise.
   */
  wakeups: string | undefined;
  /**
   * How the executions this server starts place their tasks on the nodes (`APFLOW_PLACEMENT`):
   * `capability` (default), `round-robin`, `least-loaded`, `affinity`, or the name of a placement
   * function a plugin registered (resolved once the plugins are loaded).
   */
  placement: string | undefined;
  /** What is placed as one (`APFLOW_PLACEMENT_GRANULARITY`): `task` (default), `subtree` or `root`. */
  placementGranularity: PlacementGranularity | undefined;
}

export const DEFAULTS: ServerConfig = {
  port: 8000,
  host: "127.0.0.1",
  databaseUrl: undefined,
  // The reference server ships the extension packages; APFLOW_PLUGINS replaces this list.
  plugins: ["@aipartnerupflow/ext-stdio", "@aipartnerupflow/ext-llm-agents", "@aipartnerupflow/ext-remote"],
  pluginOptions: {},
  executors: null,
  jwtSecret: undefined,
  jwksUrl: undefined,
  jwtIssuer: undefined,
  jwtAudience: undefined,
  corsOrigins: [],
  demo: false,
  concurrency: 10,
  bodyLimitBytes: 1024 * 1024,
  rateLimit: undefined,
  webhookSecret: undefined,
  webhookAllowHosts: [],
  allowedHosts: [],
  publicUrl: undefined,
  logLevel: "info",
  shutdownGraceMs: 10_000,
  compat: true,
  compatPath: "/compat",
  compatStoredLlmKeys: true,
  dashboard: true,
  execute: true,
  nodeId: undefined,
  nodeTags: [],
  leaseMs: 30_000,
  heartbeatMs: 2000,
  deadAfterMs: undefined,
  limits: [],
  wakeups: undefined,
  placement: undefined,
  placementGranularity: undefined,
};

const LOG_LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal", "silent"]);

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Defaults, then the JSON file named by `APFLOW_CONFIG` (same camelCase keys as `ServerConfig`),
 * then environment variables, each later source winning. Invalid values are refused by name.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const file = env.APFLOW_CONFIG ? readConfigFile(env.APFLOW_CONFIG) : {};
  // A relative SQLite path in the config file is relative to the file.
  if (env.APFLOW_CONFIG && typeof file.databaseUrl === "string")
    file.databaseUrl = databaseLocation(file.databaseUrl, dirname(resolve(env.APFLOW_CONFIG)));
  const config: ServerConfig = { ...DEFAULTS, ...file };
  const str = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const list = (name: string): string[] | undefined =>
    str(name)
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean);

  const port = str("PORT") ?? str("APFLOW_PORT");
  if (port !== undefined) config.port = integer("PORT", port, 0, 65535);
  config.host = str("HOST") ?? str("APFLOW_HOST") ?? config.host;
  config.databaseUrl = str("APFLOW_DATABASE_URL") ?? str("DATABASE_URL") ?? config.databaseUrl;
  config.plugins = list("APFLOW_PLUGINS") ?? config.plugins;
  config.executors = list("APFLOW_EXECUTORS") ?? config.executors;
  config.jwtSecret = str("APFLOW_JWT_SECRET") ?? config.jwtSecret;
  config.jwksUrl = str("APFLOW_JWKS_URL") ?? config.jwksUrl;
  config.jwtIssuer = str("APFLOW_JWT_ISSUER") ?? config.jwtIssuer;
  config.jwtAudience = str("APFLOW_JWT_AUDIENCE") ?? config.jwtAudience;
  config.corsOrigins = list("APFLOW_CORS_ORIGINS") ?? config.corsOrigins;
  const demo = str("APFLOW_DEMO");
  if (demo !== undefined) config.demo = boolean("APFLOW_DEMO", demo);
  const concurrency = str("APFLOW_CONCURRENCY");
  if (concurrency !== undefined) config.concurrency = integer("APFLOW_CONCURRENCY", concurrency, 1, 10_000);
  const bodyLimit = str("APFLOW_BODY_LIMIT");
  if (bodyLimit !== undefined) config.bodyLimitBytes = integer("APFLOW_BODY_LIMIT", bodyLimit, 1024, 1024 ** 3);
  const rps = str("APFLOW_RATE_LIMIT");
  if (rps !== undefined) {
    const perSecond = integer("APFLOW_RATE_LIMIT", rps, 1, 1_000_000);
    const burst = str("APFLOW_RATE_BURST");
    config.rateLimit = { perSecond, burst: burst ? integer("APFLOW_RATE_BURST", burst, 1, 1_000_000) : perSecond * 2 };
  }
  config.webhookSecret = str("APFLOW_WEBHOOK_SECRET") ?? config.webhookSecret;
  config.webhookAllowHosts = list("APFLOW_WEBHOOK_ALLOW_HOSTS") ?? config.webhookAllowHosts;
  config.publicUrl = str("APFLOW_PUBLIC_URL") ?? config.publicUrl;
  config.allowedHosts = list("APFLOW_ALLOWED_HOSTS") ?? config.allowedHosts;
  const level = str("APFLOW_LOG_LEVEL") ?? str("LOG_LEVEL");
  if (level !== undefined) {
    if (!LOG_LEVELS.has(level)) throw new ConfigError(`APFLOW_LOG_LEVEL must be one of ${[...LOG_LEVELS].join(", ")}`);
    config.logLevel = level as ServerConfig["logLevel"];
  }
  const grace = str("APFLOW_SHUTDOWN_GRACE_MS");
  if (grace !== undefined) config.shutdownGraceMs = integer("APFLOW_SHUTDOWN_GRACE_MS", grace, 0, 3_600_000);
  const compat = str("APFLOW_COMPAT");
  if (compat !== undefined) config.compat = boolean("APFLOW_COMPAT", compat);
  config.compatPath = str("APFLOW_COMPAT_PATH") ?? config.compatPath;
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(config.compatPath))
    throw new ConfigError(`APFLOW_COMPAT_PATH must look like /compat, got "${config.compatPath}"`);
  const storedKeys = str("APFLOW_COMPAT_LLM_KEYS");
  if (storedKeys !== undefined) config.compatStoredLlmKeys = boolean("APFLOW_COMPAT_LLM_KEYS", storedKeys);
  const dashboard = str("APFLOW_DASHBOARD");
  if (dashboard !== undefined) config.dashboard = boolean("APFLOW_DASHBOARD", dashboard);
  const execute = str("APFLOW_EXECUTE");
  if (execute !== undefined) config.execute = boolean("APFLOW_EXECUTE", execute);
  config.nodeId = str("APFLOW_NODE_ID") ?? config.nodeId;
  if (config.nodeId !== undefined && config.nodeId.length > 200)
    throw new ConfigError("APFLOW_NODE_ID must be at most 200 characters");
  config.nodeTags = list("APFLOW_NODE_TAGS") ?? config.nodeTags;
  const leaseMs = str("APFLOW_LEASE_MS");
  if (leaseMs !== undefined) config.leaseMs = integer("APFLOW_LEASE_MS", leaseMs, 100, 86_400_000);
  const heartbeatMs = str("APFLOW_HEARTBEAT_MS");
  if (heartbeatMs !== undefined) config.heartbeatMs = integer("APFLOW_HEARTBEAT_MS", heartbeatMs, 10, 3_600_000);
  const deadAfterMs = str("APFLOW_DEAD_AFTER_MS");
  if (deadAfterMs !== undefined) config.deadAfterMs = integer("APFLOW_DEAD_AFTER_MS", deadAfterMs, 50, 86_400_000);
  const limits = str("APFLOW_LIMITS");
  if (limits !== undefined) config.limits = limitRules("APFLOW_LIMITS", limits);
  else if (config.limits.length > 0) config.limits = limitRules("limits", JSON.stringify(config.limits));
  config.wakeups = str("APFLOW_WAKEUPS") ?? config.wakeups;
  config.placement = str("APFLOW_PLACEMENT") ?? config.placement;
  const granularity = str("APFLOW_PLACEMENT_GRANULARITY") ?? config.placementGranularity;
  if (granularity !== undefined) {
    if (!(PLACEMENT_GRANULARITIES as readonly string[]).includes(granularity))
      throw new ConfigError(
        `APFLOW_PLACEMENT_GRANULARITY must be one of ${PLACEMENT_GRANULARITIES.join(", ")}, got "${granularity}"`,
      );
    config.placementGranularity = granularity as PlacementGranularity;
  }
  if (config.jwtSecret && config.jwksUrl) throw new ConfigError("set APFLOW_JWT_SECRET or APFLOW_JWKS_URL, not both");
  return config;
}

/** A JSON array of limit rules, each checked; a problem is a ConfigError naming `name` and the field. */
function limitRules(name: string, text: string): LimitRule[] {
  try {
    return parseLimitRules(text, name);
  } catch (err) {
    if (err instanceof ValidationError) {
      throw new ConfigError(
        `${name} is not a valid list of limit rules: ${err.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`,
      );
    }
    throw err;
  }
}

function readConfigFile(path: string): Partial<ServerConfig> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ConfigError(`cannot read APFLOW_CONFIG ${path}: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new ConfigError(`APFLOW_CONFIG ${path} must hold a JSON object`);
  const known = new Set(Object.keys(DEFAULTS));
  const unknown = Object.keys(parsed).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new ConfigError(`APFLOW_CONFIG ${path}: unknown keys ${unknown.join(", ")}`);
  return parsed as Partial<ServerConfig>;
}

function integer(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

function boolean(name: string, value: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${name} must be true or false, got "${value}"`);
}

const SECRET_PARAMS = new Set(["password", "pass", "pwd"]);

/**
 * A URL as it may be logged: user name, password and password-like query parameters blanked.
 * A plain path (`file:` SQLite URLs, bare paths) has none; anything else that does not parse is
 * shown only as "[set]".
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return /^[^:@?]*$/.test(raw) ? raw : "[set]";
  }
  if (url.protocol === "file:") return raw;
  if (url.username) url.username = "redacted";
  if (url.password) url.password = "redacted";
  for (const key of [...url.searchParams.keys()])
    if (SECRET_PARAMS.has(key.toLowerCase())) url.searchParams.set(key, "redacted");
  // An "@" left after the host means a password the parser split elsewhere (an unencoded "/").
  if (`${url.pathname}${url.search}${url.hash}`.includes("@")) return "[set]";
  return url.toString();
}

/** The config as it may be logged: secrets replaced by a marker. */
export function redactConfig(config: ServerConfig): Record<string, unknown> {
  return {
    ...config,
    jwtSecret: config.jwtSecret ? "[set]" : undefined,
    webhookSecret: config.webhookSecret ? "[set]" : undefined,
    databaseUrl: config.databaseUrl === undefined ? undefined : redactUrl(config.databaseUrl),
    wakeups: config.wakeups === undefined ? undefined : redactUrl(config.wakeups),
    pluginOptions: Object.keys(config.pluginOptions),
  };
}

/** Where the store lives when nothing is configured, relative to the start directory. */
export const DEFAULT_DATABASE_PATH = "./.apflow/apflow.db";

/**
 * The directory the user started the server from. Inside a package script (`pnpm start` at the
 * repository root runs the server's own `start` script in `apps/server`) that is `INIT_CWD`, not
 * the script's working directory; otherwise the working directory.
 */
export function startDirectory(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const initCwd = env.INIT_CWD?.trim();
  return env.npm_lifecycle_event && initCwd ? initCwd : cwd;
}

/**
 * The database URL the server opens: a relative SQLite path (plain or `file:`) resolved against
 * `baseDir`, the default file when none is set; server URLs (`postgres://`, a plugin's
 * `scheme://`) unchanged.
 */
export function databaseLocation(url: string | undefined, baseDir: string): string {
  const raw = url?.trim() ?? "";
  if (raw === "") return resolve(baseDir, DEFAULT_DATABASE_PATH);
  if (raw === ":memory:" || /^file::memory:/i.test(raw)) return raw; // refused, with its reason, by the store
  if (/^file:/i.test(raw)) {
    const rest = raw.replace(/^file:(\/\/(?=\/))?/i, "");
    const query = rest.indexOf("?");
    const path = query === -1 ? rest : rest.slice(0, query);
    if (path === "" || isAbsolute(path)) return raw;
    return `file:${resolve(baseDir, path)}${query === -1 ? "" : rest.slice(query)}`;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return raw;
  return isAbsolute(raw) ? raw : resolve(baseDir, raw);
}
