/**
 * The `APFLOW_*` environment variables the project's packages read (server, CLI, the LLM and
 * command executors), so that a misspelt one is reported instead of silently ignored.
 */
export const KNOWN_SETTINGS: readonly string[] = [
  // Server and CLI
  "APFLOW_CONFIG",
  "APFLOW_DATABASE_URL",
  "APFLOW_PLUGINS",
  "APFLOW_EXECUTORS",
  "APFLOW_CONCURRENCY",
  "APFLOW_LEASE_MS",
  "APFLOW_NODE_ID",
  "APFLOW_NODE_TAGS",
  "APFLOW_EXECUTE",
  "APFLOW_HEARTBEAT_MS",
  "APFLOW_DEAD_AFTER_MS",
  "APFLOW_WAKEUPS",
  "APFLOW_PLACEMENT",
  "APFLOW_PLACEMENT_GRANULARITY",
  "APFLOW_LIMITS",
  "APFLOW_DEMO",
  "APFLOW_DEBUG",
  "APFLOW_SERVER",
  "APFLOW_TOKEN",
  "APFLOW_PORT",
  "APFLOW_HOST",
  "APFLOW_JWT_SECRET",
  "APFLOW_JWKS_URL",
  "APFLOW_JWT_ISSUER",
  "APFLOW_JWT_AUDIENCE",
  "APFLOW_CORS_ORIGINS",
  "APFLOW_BODY_LIMIT",
  "APFLOW_RATE_LIMIT",
  "APFLOW_RATE_BURST",
  "APFLOW_WEBHOOK_SECRET",
  "APFLOW_WEBHOOK_ALLOW_HOSTS",
  "APFLOW_PUBLIC_URL",
  "APFLOW_LOG_LEVEL",
  "APFLOW_SHUTDOWN_GRACE_MS",
  "APFLOW_ALLOWED_HOSTS",
  "APFLOW_DASHBOARD",
  "APFLOW_COMPAT",
  "APFLOW_COMPAT_PATH",
  "APFLOW_COMPAT_LLM_KEYS",
  // remote executors (ext-remote)
  "APFLOW_OUTBOUND_ALLOW_HOSTS",
  "APFLOW_MCP_ALLOW_COMMANDS",
  "APFLOW_MCP_ALLOW_HOSTS",
  // LLM executors
  "APFLOW_LLM_MODEL",
  "APFLOW_LLM_BASE_URL",
  "APFLOW_LLM_API_KEY",
  // command executor
  "APFLOW_COMMAND_ENABLED",
  "APFLOW_COMMAND_ALLOW",
  "APFLOW_COMMAND_ALLOW_SHELL",
];

/** Common guesses that plain spelling distance would match to the wrong setting. */
const ALIASES: Record<string, string> = {
  APFLOW_DB: "APFLOW_DATABASE_URL",
  APFLOW_DB_URL: "APFLOW_DATABASE_URL",
  APFLOW_DB_PATH: "APFLOW_DATABASE_URL",
  APFLOW_DATABASE: "APFLOW_DATABASE_URL",
  APFLOW_DATABASE_PATH: "APFLOW_DATABASE_URL",
  APFLOW_DATABASE_FILE: "APFLOW_DATABASE_URL",
  APFLOW_SQLITE_PATH: "APFLOW_DATABASE_URL",
  APFLOW_POSTGRES_URL: "APFLOW_DATABASE_URL",
  APFLOW_PLUGIN: "APFLOW_PLUGINS",
  APFLOW_EXECUTOR: "APFLOW_EXECUTORS",
  APFLOW_SERVER_URL: "APFLOW_SERVER",
  APFLOW_URL: "APFLOW_SERVER",
  APFLOW_API_TOKEN: "APFLOW_TOKEN",
  APFLOW_MODEL: "APFLOW_LLM_MODEL",
  APFLOW_BASE_URL: "APFLOW_LLM_BASE_URL",
  APFLOW_API_KEY: "APFLOW_LLM_API_KEY",
  APFLOW_LOGLEVEL: "APFLOW_LOG_LEVEL",
  APFLOW_LOG: "APFLOW_LOG_LEVEL",
};

export interface UnknownSetting {
  name: string;
  /** The closest known setting, when one is close enough to be a likely meaning. */
  suggestion: string | null;
}

/**
 * Every `APFLOW_*` variable of `env` that nothing reads, each with the closest known name.
 * `extra` adds names (for example a plugin's own settings).
 */
export function findUnknownSettings(env: NodeJS.ProcessEnv, extra: readonly string[] = []): UnknownSetting[] {
  const known = new Set([...KNOWN_SETTINGS, ...extra]);
  const out: UnknownSetting[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith("APFLOW_") || known.has(name)) continue;
    out.push({ name, suggestion: closestSetting(name, [...known]) });
  }
  return out;
}

/** One line per unknown setting: `unknown setting APFLOW_DB (ignored); did you mean APFLOW_DATABASE_URL?`. */
export function describeUnknownSetting({ name, suggestion }: UnknownSetting): string {
  return `unknown setting ${name} (ignored)${suggestion ? `; did you mean ${suggestion}?` : ""}`;
}

/** The known name `name` most likely meant: a known alias, else the nearest by edit distance. */
export function closestSetting(name: string, known: readonly string[] = KNOWN_SETTINGS): string | null {
  const upper = name.toUpperCase();
  if (known.includes(upper)) return upper;
  const alias = ALIASES[upper];
  if (alias && known.includes(alias)) return alias;
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = editDistance(upper, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  // Close enough to be a typo: a few edits, relative to the part after the prefix.
  const limit = Math.max(2, Math.floor((upper.length - "APFLOW_".length) / 3));
  return bestDistance <= limit ? best : null;
}

/** Levenshtein distance (two rows). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    prev = row;
  }
  return prev[b.length] as number;
}
