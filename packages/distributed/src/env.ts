import { ApflowError, ErrorCode, PLACEMENT_GRANULARITIES, type PlacementGranularity } from "@aipartnerupflow/core";

/** What a node reads from its environment (the same names for `apflow worker` and apps/server). */
export interface NodeEnvConfig {
  /** `APFLOW_DATABASE_URL`, else `DATABASE_URL`. */
  databaseUrl: string | undefined;
  /** `APFLOW_CONCURRENCY`. */
  concurrency: number | undefined;
  /** `APFLOW_LEASE_MS`. */
  leaseMs: number | undefined;
  /** `APFLOW_NODE_ID` (default: the engine's `host:pid:random`). */
  nodeId: string | undefined;
  /** `APFLOW_NODE_TAGS`, comma-separated. */
  tags: string[] | undefined;
  /** `APFLOW_EXECUTE` (default true); false: a producer-only node that claims nothing. */
  execute: boolean | undefined;
  /** `APFLOW_HEARTBEAT_MS`. */
  heartbeatMs: number | undefined;
  /** `APFLOW_DEAD_AFTER_MS`. */
  deadAfterMs: number | undefined;
  /** `APFLOW_WAKEUPS`: the wake-up transport (default: LISTEN/NOTIFY on PostgreSQL, none otherwise). */
  wakeups: string | undefined;
  /**
   * `APFLOW_PLACEMENT`: how the executions this node starts are placed (`capability`,
   * `round-robin`, `least-loaded`, `affinity`, or a plugin's placement function by name: resolve
   * it with `placementFromSettings` and the node's registry).
   */
  placement: string | undefined;
  /** `APFLOW_PLACEMENT_GRANULARITY`: `task`, `subtree` or `root`. */
  placementGranularity: PlacementGranularity | undefined;
}

/** The environment names of a node's settings. */
export const NODE_ENV = [
  "APFLOW_DATABASE_URL",
  "DATABASE_URL",
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
] as const;

const bad = (name: string, why: string, value: string): never => {
  throw new ApflowError(ErrorCode.InvalidParams, `${name} ${why}, got "${value}"`, { field: name });
};

function int(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) bad(name, `must be an integer from ${min} to ${max}`, raw);
  return n;
}

/** Read a node's settings from the environment; a bad value is refused by its name. */
export function nodeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): NodeEnvConfig {
  const str = (name: string): string | undefined => env[name]?.trim() || undefined;
  const executeRaw = str("APFLOW_EXECUTE");
  let execute: boolean | undefined;
  if (executeRaw !== undefined) {
    if (/^(1|true|yes|on)$/i.test(executeRaw)) execute = true;
    else if (/^(0|false|no|off)$/i.test(executeRaw)) execute = false;
    else bad("APFLOW_EXECUTE", "must be true or false", executeRaw);
  }
  const granularity = str("APFLOW_PLACEMENT_GRANULARITY");
  if (granularity !== undefined && !(PLACEMENT_GRANULARITIES as readonly string[]).includes(granularity))
    bad("APFLOW_PLACEMENT_GRANULARITY", `must be one of ${PLACEMENT_GRANULARITIES.join(", ")}`, granularity);
  const nodeId = str("APFLOW_NODE_ID");
  if (nodeId !== undefined && nodeId.length > 200) bad("APFLOW_NODE_ID", "must be 1..200 characters", nodeId);
  return {
    databaseUrl: str("APFLOW_DATABASE_URL") ?? str("DATABASE_URL"),
    concurrency: int(env, "APFLOW_CONCURRENCY", 1, 10_000),
    leaseMs: int(env, "APFLOW_LEASE_MS", 100, 86_400_000),
    nodeId,
    tags: str("APFLOW_NODE_TAGS")
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    execute,
    heartbeatMs: int(env, "APFLOW_HEARTBEAT_MS", 10, 3_600_000),
    deadAfterMs: int(env, "APFLOW_DEAD_AFTER_MS", 50, 86_400_000),
    wakeups: str("APFLOW_WAKEUPS"),
    placement: str("APFLOW_PLACEMENT"),
    placementGranularity: granularity as PlacementGranularity | undefined,
  };
}
