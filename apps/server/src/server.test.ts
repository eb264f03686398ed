import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ApflowClient, createToken } from "@aipartnerupflow/api-a2a";
import type { Logger } from "@aipartnerupflow/core";
import { createLogger } from "@aipartnerupflow/api-a2a";
import { describe, expect, it } from "vitest";
import { DEFAULTS, type ServerConfig } from "./config.js";
import { startApflowServer } from "./server.js";

const quiet = createLogger({ level: "silent" });

function config(overrides: Partial<ServerConfig>): ServerConfig {
  const dir = mkdtempSync(join(tmpdir(), "apflow-server-"));
  return { ...DEFAULTS, port: 0, databaseUrl: `file:${join(dir, "apflow.db")}`, ...overrides };
}

const tree = [
  { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["info"] },
  { name: "info", parentId: "root", params: { executorId: "system_info" } },
];

describe("apps/server on SQLite", () => {
  it("loads plugins, runs a tree, and keeps it across a restart", async () => {
    const cfg = config({ plugins: ["@aipartnerupflow/ext-stdio"] });
    const first = await startApflowServer(cfg, { logger: quiet });
    let rootId: string;
    try {
      const client = new ApflowClient({ url: first.url });
      expect((await client.listExecutors()).executors.map((e) => e.id)).toEqual(
        expect.arrayContaining(["system_info", "aggregate_results"]),
      );
      rootId = (await client.createTasks(tree)).rootId;
      const outcome = await client.executeAndWait({ taskId: rootId });
      expect(outcome.status).toBe("completed");
    } finally {
      await first.close();
    }
    const second = await startApflowServer(cfg, { logger: quiet });
    try {
      const client = new ApflowClient({ url: second.url });
      const root = await client.getTask(rootId);
      expect(root.status).toBe("completed");
      expect((await client.events({ rootId })).events.filter((e) => e.type === "tree.finished")).toHaveLength(1);
    } finally {
      await second.close();
    }
  }, 60_000);

  it("applies the executor allow-list and JWT auth from configuration", async () => {
    const server = await startApflowServer(
      config({ plugins: ["@aipartnerupflow/ext-stdio"], executors: ["aggregate_results"], jwtSecret: "cfg-secret" }),
      {
        logger: quiet,
      },
    );
    try {
      await expect(new ApflowClient({ url: server.url }).health()).rejects.toMatchObject({ httpStatus: 401 });
      const client = new ApflowClient({
        url: server.url,
        token: await createToken({ secret: "cfg-secret", sub: "op" }),
      });
      expect((await client.listExecutors()).executors.map((e) => e.id)).toEqual(["aggregate_results"]);
    } finally {
      await server.close();
    }
  }, 60_000);

  it("serves the dashboard at /ui (public page, data behind auth) unless turned off", async () => {
    const on = await startApflowServer(config({ plugins: [], jwtSecret: "cfg-secret" }), { logger: quiet });
    try {
      const page = await fetch(`${on.url}/ui/trees/some-root?task=x`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toContain("text/html");
      expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(await page.text()).toContain('src="/ui/assets/app.js');
      expect((await fetch(`${on.url}/ui/assets/app.js`)).status).toBe(200);
      const browser = await fetch(`${on.url}/`, { headers: { accept: "text/html" }, redirect: "manual" });
      expect(browser.status).toBe(302);
      expect(browser.headers.get("location")).toBe("/ui/");
      // The API keeps its auth: the page asks for a token.
      expect((await fetch(`${on.url}/tasks`, { method: "POST", body: "{}" })).status).toBe(401);
    } finally {
      await on.close();
    }
    const off = await startApflowServer(config({ plugins: [], dashboard: false }), { logger: quiet });
    try {
      expect((await fetch(`${off.url}/ui/`)).status).toBe(404);
    } finally {
      await off.close();
    }
  }, 60_000);

  it("requires the configured JWT issuer and audience", async () => {
    const secret = "cfg-secret";
    const server = await startApflowServer(
      config({ plugins: [], jwtSecret: secret, jwtIssuer: "https://idp.test", jwtAudience: "apflow" }),
      { logger: quiet },
    );
    try {
      const wrong = new ApflowClient({ url: server.url, token: await createToken({ secret, sub: "op" }) });
      await expect(wrong.health()).rejects.toMatchObject({ httpStatus: 401 });
      const right = new ApflowClient({
        url: server.url,
        token: await createToken({ secret, sub: "op", issuer: "https://idp.test", audience: "apflow" }),
      });
      expect((await right.health()).status).toBe("ok");
    } finally {
      await server.close();
    }
  }, 60_000);
});

describe("apps/server start-up", () => {
  function recordingLogger(): { logger: Logger; lines: Array<{ level: string; obj: unknown; msg: string }> } {
    const lines: Array<{ level: string; obj: unknown; msg: string }> = [];
    const at =
      (level: string) =>
      (obj: object | string, msg?: string): void =>
        void lines.push({ level, obj, msg: typeof obj === "string" ? obj : (msg ?? "") });
    const logger: Logger = {
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
      child: () => logger,
    };
    return { logger, lines };
  }

  it("warns about unknown APFLOW_* settings, opens a relative database where the user started, and says which", async () => {
    const startDir = mkdtempSync(join(tmpdir(), "apflow-start-"));
    const { logger, lines } = recordingLogger();
    const server = await startApflowServer(
      { ...DEFAULTS, port: 0, plugins: [], databaseUrl: "data/here.db" },
      { logger, env: { APFLOW_DB: "elsewhere.db", APFLOW_PLUGINS: "", PATH: "/bin" }, startDir },
    );
    try {
      expect(lines.filter((l) => l.level === "warn").map((l) => l.msg)).toEqual([
        "unknown setting APFLOW_DB (ignored); did you mean APFLOW_DATABASE_URL?",
      ]);
      const database = join(startDir, "data", "here.db");
      expect(lines.map((l) => l.msg)).toContain(`database: ${database}`);
      expect(existsSync(database)).toBe(true);
    } finally {
      await server.close();
    }
    // Nothing configured: the default file, in the start directory too.
    const other = mkdtempSync(join(tmpdir(), "apflow-start-"));
    const again = await startApflowServer(
      { ...DEFAULTS, port: 0, plugins: [] },
      { logger: quiet, env: {}, startDir: other },
    );
    await again.close();
    expect(existsSync(join(other, ".apflow", "apflow.db"))).toBe(true);
  }, 60_000);
});

describe("stores from plugins", () => {
  it("a plugin registering mystore:// makes APFLOW_DATABASE_URL=mystore://… open its store", async () => {
    const dir = mkdtempSync(join(tmpdir(), "apflow-mystore-"));
    const core = pathToFileURL(fileURLToPath(import.meta.resolve("@aipartnerupflow/core"))).href;
    const plugin = join(dir, "mystore-plugin.mjs");
    writeFileSync(
      plugin,
      `import { MemoryStore } from ${JSON.stringify(core)};
export const opened = [];
export default {
  name: "mystore",
  setup(registry) {
    registry.registerStore({ id: "mystore", schemes: ["mystore"], create: ({ url }) => { opened.push(url); return new MemoryStore(); } });
  },
};`,
    );
    const lines: string[] = [];
    const logger: Logger = {
      debug: () => {},
      info: (obj, msg) => void lines.push(typeof obj === "string" ? obj : (msg ?? "")),
      warn: () => {},
      error: () => {},
      child: () => logger,
    };
    const server = await startApflowServer(
      { ...DEFAULTS, port: 0, plugins: [pathToFileURL(plugin).href], databaseUrl: "mystore://bucket/tasks" },
      { logger, env: {} },
    );
    try {
      const { opened } = (await import(pathToFileURL(plugin).href)) as { opened: string[] };
      expect(opened).toEqual(["mystore://bucket/tasks"]);
      expect(lines).toContain("database: mystore://bucket/tasks (store mystore)");
      const client = new ApflowClient({ url: server.url });
      const { rootId } = await client.createTasks([{ name: "root", params: { executorId: "aggregate_results" } }]);
      expect((await client.executeAndWait({ taskId: rootId })).status).toBe("completed");
      expect(existsSync(join(dir, ".apflow"))).toBe(false);
    } finally {
      await server.close();
    }
    // A scheme nobody registered is refused at start, naming the ones that are.
    await expect(
      startApflowServer({ ...DEFAULTS, port: 0, plugins: [], databaseUrl: "nostore://x" }, { logger: quiet, env: {} }),
    ).rejects.toThrow(/no store opens "nostore:" URLs \(registered schemes: file:, postgres:, postgresql:\)/);
  }, 60_000);
});

describe("apps/server process", () => {
  it("shuts down gracefully on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "apflow-proc-"));
    const main = fileURLToPath(new URL("./main.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", main], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      // As `pnpm start` at the repository root runs it: a package script in apps/server, INIT_CWD where the user was.
      env: {
        ...withoutApflowSettings(process.env),
        PORT: "0",
        APFLOW_LOG_LEVEL: "info",
        APFLOW_DB: "ignored.db",
        npm_lifecycle_event: "start",
        INIT_CWD: dir,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        for (const line of d.toString().split("\n").filter(Boolean)) {
          lines.push(line);
          const rec = JSON.parse(line) as { msg?: string; url?: string };
          if (rec.msg === "listening" && rec.url) resolve(rec.url);
        }
      });
      child.once("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    expect((await (await fetch(`${url}/health`)).json()) as { status: string }).toMatchObject({ status: "ok" });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const messages = lines.map((l) => (JSON.parse(l) as { msg?: string }).msg);
    expect(messages).toEqual(expect.arrayContaining(["signal received", "shutting down", "stopped"]));
    expect(messages).toContain("unknown setting APFLOW_DB (ignored); did you mean APFLOW_DATABASE_URL?");
    expect(messages).toContain(`database: ${join(dir, ".apflow", "apflow.db")}`);
    expect(existsSync(join(dir, ".apflow", "apflow.db"))).toBe(true);
  }, 60_000);
});

function withoutApflowSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!k.startsWith("APFLOW_") && k !== "DATABASE_URL") out[k] = v;
  return out;
}
