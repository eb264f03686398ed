import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { AmqpTransport } from "./amqp.js";
import { NatsTransport } from "./nats.js";
import { PollingTransport } from "./polling.js";
import { PostgresTransport } from "./postgres.js";
import { RedisTransport } from "./redis.js";
import type { WakeupTransport } from "./transport.js";

/** Test and benchmark helpers (not exported by the package). */

export const ADMIN_URL = process.env.APFLOW_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.APFLOW_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const NATS_URL = process.env.APFLOW_TEST_NATS_URL ?? "nats://127.0.0.1:4222";
export const AMQP_URL = process.env.APFLOW_TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

export type TransportKind = "postgres" | "postgres-app" | "redis" | "nats" | "amqp" | "polling";

/** A transport of a kind, on a channel of its own (parallel test files never wake each other). */
export function transportFor(
  kind: TransportKind,
  databaseUrl: string,
  channel: string,
  pollMs = 1000,
): WakeupTransport {
  switch (kind) {
    case "postgres":
      return new PostgresTransport({ url: databaseUrl });
    case "postgres-app":
      return new PostgresTransport({ url: databaseUrl, mode: "app" });
    case "redis":
      return new RedisTransport({ url: REDIS_URL, channel: `apflow:${channel}` });
    case "nats":
      return new NatsTransport({ url: NATS_URL, subject: `apflow.${channel}` });
    case "amqp":
      return new AmqpTransport({ url: AMQP_URL, exchange: `apflow.${channel}` });
    case "polling":
      return new PollingTransport(pollMs);
  }
}

/** A throw-away database (the multi-node tests' one). */
export { createDatabase } from "../test-support/cluster.js";

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

export interface ChildConfig {
  url: string;
  transport: TransportKind;
  channel: string;
  /** The worker engine's own poll (60 s in tests: only a wake-up can start work in time). */
  pollIntervalMs: number;
  concurrency?: number;
}

/** A worker node in another process (worker-child.ts): lines it prints, and a way to stop it. */
export interface ChildWorker {
  process: ChildProcess;
  lines: string[];
  /** Resolves with the first line starting with `prefix`; rejects after `timeoutMs` (20 s). */
  waitFor(prefix: string, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export function startWorker(config: ChildConfig): ChildWorker {
  const here = dirname(fileURLToPath(import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "worker-child.ts"), JSON.stringify(config)], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines: string[] = [];
  const waiting: Array<{ prefix: string; resolve(line: string): void }> = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    lines.push(line);
    for (const w of [...waiting]) {
      if (line.startsWith(w.prefix)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    process: child,
    lines,
    waitFor(prefix, timeoutMs = 20_000) {
      const found = lines.find((l) => l.startsWith(prefix));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`worker printed no "${prefix}" in ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiting.push({
          prefix,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        exited.then(() => reject(new Error(`worker exited before printing "${prefix}"`)));
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin?.end("stop\n");
        const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}
