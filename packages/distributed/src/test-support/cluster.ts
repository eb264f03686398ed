import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import pg from "pg";

/**
 * Real processes on the real PostgreSQL for the multi-node tests: a throw-away database, `apflow
 * worker` processes and a producer-only apps/server, all started from the built packages
 * (`pnpm build` first).
 */
export const ADMIN_URL = process.env.APFLOW_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
export const CLI_BIN = `${ROOT}packages/cli/dist/bin.js`;
export const SERVER_MAIN = `${ROOT}apps/server/dist/main.js`;
export const PLUGIN = fileURLToPath(new URL("./plugin.mjs", import.meta.url));

export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface TestDatabase {
  url: string;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

export async function createDatabase(): Promise<TestDatabase> {
  const name = `apflow_test_nodes_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`).finally(() => admin.end());
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  // The drop below terminates (57P01) a client still closing: an idle client's error is no failure.
  pool.on("error", () => undefined);
  return {
    url: url.toString(),
    query: async (sql, params) => (await pool.query(sql, params)).rows,
    async drop() {
      await pool.end();
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => c.end());
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export class Proc {
  output = "";
  exited: Promise<number | null>;
  exitCode: number | null | undefined;
  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on("data", (d: Buffer) => {
      this.output += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      this.output += d.toString();
    });
    this.exited = new Promise((resolve) =>
      child.on("exit", (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
  }
  get pid(): number {
    return this.child.pid as number;
  }
  signal(sig: NodeJS.Signals): void {
    if (this.exitCode === undefined) this.child.kill(sig);
  }
}

export function run(name: string, args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Proc(name, child);
}

/** Apply the store's migrations with `apflow db migrate`. */
export async function migrate(url: string): Promise<void> {
  const p = run("migrate", [CLI_BIN, "db", "migrate"], { APFLOW_DATABASE_URL: url });
  const code = await p.exited;
  if (code !== 0) throw new Error(`apflow db migrate failed (${code}): ${p.output}`);
}

export interface NodeTimings {
  leaseMs: number;
  heartbeatMs: number;
  deadAfterMs: number;
  pollMs: number;
}

export const FAST: NodeTimings = { leaseMs: 4000, heartbeatMs: 200, deadAfterMs: 1500, pollMs: 200 };

export function worker(
  url: string,
  nodeId: string,
  options: { concurrency?: number; timings?: NodeTimings; env?: Record<string, string>; args?: string[] } = {},
): Proc {
  const t = options.timings ?? FAST;
  return run(
    nodeId,
    [
      CLI_BIN,
      "worker",
      "--node-id",
      nodeId,
      "--concurrency",
      String(options.concurrency ?? 8),
      "--lease-ms",
      String(t.leaseMs),
      "--heartbeat-ms",
      String(t.heartbeatMs),
      "--dead-after-ms",
      String(t.deadAfterMs),
      "--poll-ms",
      String(t.pollMs),
      "--grace-ms",
      "2000",
      "--log-level",
      "warn",
      ...(options.args ?? []),
    ],
    { APFLOW_DATABASE_URL: url, APFLOW_PLUGINS: PLUGIN, APFLOW_NODE_ID: nodeId, ...(options.env ?? {}) },
  );
}

/** apps/server as a producer-only node (APFLOW_EXECUTE=0): accepts and queues, runs nothing. */
export async function producer(
  url: string,
  options: { timings?: NodeTimings; env?: Record<string, string> } = {},
): Promise<{ proc: Proc; url: string; call: <T = any>(method: string, params: unknown) => Promise<T> }> {
  const t = options.timings ?? FAST;
  const port = await freePort();
  const proc = run("producer", [SERVER_MAIN], {
    APFLOW_DATABASE_URL: url,
    PORT: String(port),
    HOST: "127.0.0.1",
    APFLOW_EXECUTE: "0",
    APFLOW_NODE_ID: "producer",
    APFLOW_PLUGINS: `file://${PLUGIN}`,
    APFLOW_DASHBOARD: "0",
    APFLOW_COMPAT: "0",
    APFLOW_LOG_LEVEL: "warn",
    APFLOW_LEASE_MS: String(t.leaseMs),
    APFLOW_HEARTBEAT_MS: String(t.heartbeatMs),
    APFLOW_DEAD_AFTER_MS: String(t.deadAfterMs),
    APFLOW_TEST_SPECIAL: "1",
    ...(options.env ?? {}),
  });
  const base = `http://127.0.0.1:${port}`;
  const call = async <T>(method: string, params: unknown): Promise<T> => {
    const res = await fetch(`${base}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = (await res.json()) as { result?: T; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== undefined) throw new Error(`producer exited: ${proc.output}`);
    try {
      await call("system.health", {});
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`producer not up: ${String(err)} ${proc.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { proc, url: base, call };
}
