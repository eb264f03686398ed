// A real server for the dashboard's tests: createApp (api-a2a) over a temp SQLite store
// (storage-prisma), with the dashboard mounted at /ui, on a random loopback port.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp, createToken, startServer } from "@aipartnerupflow/api-a2a";
import { Engine, Registry, TaskFailure, registerBuiltins } from "@aipartnerupflow/core";
import { createPrismaStore } from "@aipartnerupflow/storage-prisma";
import { withDashboard } from "../src/index.js";

export interface TestServer {
  url: string;
  engine: Engine;
  /** Releases `gate` tasks waiting on the given key. */
  release(key: string): void;
  /** From now on `switch` tasks with this key succeed (they fail until then). */
  turnOn(key: string): void;
  token(sub: string, roles?: string[]): Promise<string>;
  close(): Promise<void>;
}

const SECRET = "dashboard-test-secret-0123456789abcdef";

/**
 * Executors of the tests: `echo`, `boom` (always fails), `gate` (runs until released or
 * cancelled), `switch` (fails until its key is turned on: a failure a re-run can fix).
 */
export function testRegistry(gates: Map<string, Set<() => void>>, on: Set<string> = new Set()): Registry {
  const registry = registerBuiltins(new Registry());
  registry.registerExecutor({
    id: "echo",
    description: "returns its inputs",
    inputSchema: { type: "object", properties: { n: { type: "integer", description: "any number" } } },
    execute: (inputs) => ({ ...(inputs as Record<string, unknown>) }) as never,
  });
  registry.registerExecutor({
    id: "boom",
    description: "always fails",
    execute: () => {
      throw new TaskFailure("BOOM", "exploded on purpose", { retryable: false });
    },
  });
  registry.registerExecutor({
    id: "switch",
    description: "fails until its key is turned on",
    execute: (_inputs, ctx) => {
      const key = String(ctx.task.params.key ?? "default");
      if (!on.has(key)) throw new TaskFailure("SWITCH_OFF", `switch ${key} is off`, { retryable: false });
      return { on: key };
    },
  });
  registry.registerExecutor({
    id: "gate",
    description: "runs until released (params.key) or cancelled",
    cancelable: true,
    execute: (_inputs, ctx) =>
      new Promise((resolve) => {
        const key = String(ctx.task.params.key ?? "default");
        const set = gates.get(key) ?? new Set();
        gates.set(key, set);
        const done = () => {
          set.delete(done);
          resolve({ released: key });
        };
        set.add(done);
        ctx.signal.addEventListener("abort", () => {
          set.delete(done);
          resolve({ aborted: true });
        });
      }),
  });
  return registry;
}

export async function startTestServer(options: { auth?: boolean; concurrency?: number } = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "apflow-dashboard-"));
  const store = await createPrismaStore({ url: `file:${join(dir, "test.db")}` });
  const gates = new Map<string, Set<() => void>>();
  const on = new Set<string>();
  const engine = new Engine({
    store,
    registry: testRegistry(gates, on),
    pollIntervalMs: 50,
    cancelGraceMs: 2000,
    concurrency: options.concurrency ?? 8,
  });
  await engine.start();
  const app = createApp({ engine, ...(options.auth ? { auth: { jwtSecret: SECRET } } : {}) });
  const http = await startServer({ app: withDashboard(app, { basePath: "/ui" }), port: 0, host: "127.0.0.1" });
  return {
    url: http.url,
    engine,
    release(key: string) {
      for (const done of [...(gates.get(key) ?? [])]) done();
    },
    turnOn: (key) => void on.add(key),
    token: (sub, roles) => createToken({ secret: SECRET, sub, ...(roles ? { roles } : {}) }),
    async close() {
      await http.close();
      await engine.stop({ graceMs: 0 });
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
