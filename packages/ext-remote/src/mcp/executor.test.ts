import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Engine, MemoryStore, Registry, TaskFailure } from "@aipartnerupflow/core";
import { createExecutorContext } from "@aipartnerupflow/core/testing";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type RemoteOptions, resolveRemoteConfig } from "../config.js";
import { remotePlugin } from "../plugin.js";
import { executeMcpTool } from "./executor.js";

const fixture = fileURLToPath(new URL("../testing/mcp-server.mjs", import.meta.url));
const node = process.execPath;
const stdio = { command: node, args: [fixture] };

/** A real MCP server over Streamable HTTP (stateless: one server per request), on a free port. */
let http: Server;
let httpUrl: string;
const seenTeams: Array<string | undefined> = [];
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "ext-remote-mcp-"));
  http = createServer(async (req, res) => {
    seenTeams.push(req.headers["x-team"] as string | undefined);
    const server = new McpServer({ name: "http-test", version: "1.0.0" });
    server.registerTool("echo", { description: "Echo", inputSchema: { text: z.string() } }, async ({ text }) => ({
      content: [{ type: "text", text }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  httpUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
});
afterAll(async () => {
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

function config(options: RemoteOptions["mcp"] = {}) {
  return resolveRemoteConfig({ mcp: { allowCommands: [node], ...options } }, {});
}

async function failure(promise: Promise<unknown>): Promise<TaskFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskFailure);
  return err as TaskFailure;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("mcp_tool against a real stdio MCP server process", () => {
  it("calls a tool of an allow-listed program and returns its content", async () => {
    const result = await executeMcpTool(
      { server: stdio, tool: "add", arguments: { a: 2, b: 3 } },
      createExecutorContext(),
      config(),
    );
    expect(result).toEqual({ content: [{ type: "text", text: "5" }], structuredContent: null, text: "5" });
  });

  it("returns structured content, passes env, and serves a server configured by name", async () => {
    const named = config({
      allowCommands: [],
      servers: { math: { transport: "stdio", command: node, args: [fixture] } },
    });
    const stats = await executeMcpTool({ server: "math", tool: "stats" }, createExecutorContext(), named);
    expect(stats.structuredContent).toEqual({ count: 3 });
    const env = await executeMcpTool(
      { server: { ...stdio, env: { GREETING: "hi there" } }, tool: "env", arguments: { name: "GREETING" } },
      createExecutorContext(),
      config(),
    );
    expect(env.text).toBe("hi there");
  });

  it("fails a tool error with MCP_TOOL_ERROR and an unknown tool with MCP_UNKNOWN_TOOL", async () => {
    const broken = await failure(executeMcpTool({ server: stdio, tool: "broken" }, createExecutorContext(), config()));
    expect(broken.code).toBe("MCP_TOOL_ERROR");
    expect(broken.message).toContain("backend down");
    const unknown = await failure(executeMcpTool({ server: stdio, tool: "nope" }, createExecutorContext(), config()));
    expect(unknown.code).toBe("MCP_UNKNOWN_TOOL");
    expect(unknown.retryable).toBe(false);
    expect((unknown.details as { tools: string[] }).tools).toContain("add");
  });

  it("times out with MCP_TIMEOUT and ends the server process", async () => {
    const pidfile = path.join(dir, "timeout.pid");
    const err = await failure(
      executeMcpTool(
        { server: { ...stdio, env: { PIDFILE: pidfile } }, tool: "hang", timeoutMs: 8000 },
        createExecutorContext(),
        config(),
      ),
    );
    expect(err.code).toBe("MCP_TIMEOUT");
    expect(err.details).toMatchObject({ timeoutMs: 8000 });
    // The timeout covers the server's start too; 8 s leaves it time to write its pid first.
    const pid = Number(readFileSync(pidfile, "utf8"));
    await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);
  });

  it("a cancelled task aborts the call and ends the server process", async () => {
    const pidfile = path.join(dir, "cancel.pid");
    const ctx = createExecutorContext();
    const pending = executeMcpTool({ server: { ...stdio, env: { PIDFILE: pidfile } }, tool: "hang" }, ctx, config());
    await expect
      .poll(() => {
        try {
          return readFileSync(pidfile, "utf8").length > 0;
        } catch {
          return false;
        }
      })
      .toBe(true);
    // Give the client time to send the call.
    await new Promise((r) => setTimeout(r, 200));
    const reason = new Error("cancelled by the test");
    ctx.abort(reason);
    await expect(pending).rejects.toBe(reason);
    const pid = Number(readFileSync(pidfile, "utf8"));
    await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);
  });

  it("a program that does not exist fails with MCP_ERROR naming the server", async () => {
    const err = await failure(
      executeMcpTool(
        { server: { command: "apflow-no-such-program" }, tool: "add" },
        createExecutorContext(),
        config({ allowCommands: ["apflow-no-such-program"] }),
      ),
    );
    expect(err.code).toBe("MCP_ERROR");
    expect(err.message).toContain("apflow-no-such-program");
  });
});

describe("mcp_tool server allow-list (operator configuration only)", () => {
  it("refuses programs, hosts and names the operator did not allow, with MCP_SERVER_NOT_ALLOWED", async () => {
    const none = resolveRemoteConfig({}, {});
    const cases: Array<[unknown, RegExp]> = [
      [stdio, /is not allowed/],
      [{ command: "node", args: [fixture] }, /"node" is not allowed/],
      [{ url: httpUrl }, /not allowed/],
      ["math", /unknown MCP server "math"/],
    ];
    for (const [server, message] of cases) {
      const err = await failure(executeMcpTool({ server, tool: "add" }, createExecutorContext(), none));
      expect(err.code).toBe("MCP_SERVER_NOT_ALLOWED");
      expect(err.message).toMatch(message);
    }
    // A bare name on the list does not admit a path that ends in it, nor the reverse.
    const bare = resolveRemoteConfig({ mcp: { allowCommands: ["node"] } }, {});
    expect(
      (await failure(executeMcpTool({ server: { command: "./node" }, tool: "x" }, createExecutorContext(), bare))).code,
    ).toBe("MCP_SERVER_NOT_ALLOWED");
    expect((await failure(executeMcpTool({ server: stdio, tool: "x" }, createExecutorContext(), bare))).code).toBe(
      "MCP_SERVER_NOT_ALLOWED",
    );
  });

  it("refuses env variables that make an allowed program run other code", async () => {
    for (const variable of ["NODE_OPTIONS", "LD_PRELOAD", "PATH"]) {
      const err = await failure(
        executeMcpTool(
          { server: { ...stdio, env: { [variable]: "x" } }, tool: "add" },
          createExecutorContext(),
          config(),
        ),
      );
      expect(err.code).toBe("MCP_SERVER_NOT_ALLOWED");
      expect(err.message).toContain(variable);
    }
  });

  it("reads the allow-lists from APFLOW_MCP_ALLOW_COMMANDS and APFLOW_MCP_ALLOW_HOSTS", async () => {
    const host = new URL(httpUrl).host;
    const fromEnv = resolveRemoteConfig(
      {},
      { APFLOW_MCP_ALLOW_COMMANDS: `other, ${node}`, APFLOW_MCP_ALLOW_HOSTS: host },
    );
    expect(
      (
        await executeMcpTool(
          { server: stdio, tool: "add", arguments: { a: 1, b: 1 } },
          createExecutorContext(),
          fromEnv,
        )
      ).text,
    ).toBe("2");
    expect(
      (
        await executeMcpTool(
          { server: { url: httpUrl }, tool: "echo", arguments: { text: "yo" } },
          createExecutorContext(),
          fromEnv,
        )
      ).text,
    ).toBe("yo");
  });
});

describe("mcp_tool against a Streamable HTTP MCP server", () => {
  it("calls a tool on an allowed host, with headers (a secret among them)", async () => {
    const host = new URL(httpUrl).host;
    const ctx = createExecutorContext({ secrets: { team: "blue" } });
    const result = await executeMcpTool(
      {
        server: { url: httpUrl, headers: { "x-team": { secret: "team" } } },
        tool: "echo",
        arguments: { text: "hello" },
      },
      ctx,
      resolveRemoteConfig({ mcp: { allowHosts: [host] } }, {}),
    );
    expect(result.text).toBe("hello");
    expect(seenTeams.at(-1)).toBe("blue");
  });

  it("a host allowed for MCP but unreachable fails with MCP_ERROR", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await failure(
      executeMcpTool(
        { server: { url: `http://127.0.0.1:${port}/mcp` }, tool: "echo" },
        createExecutorContext(),
        resolveRemoteConfig({ mcp: { allowHosts: [`127.0.0.1:${port}`] } }, {}),
      ),
    );
    expect(err.code).toBe("MCP_ERROR");
  });
});

describe("mcp_tool inside a real tree", () => {
  it("runs as a task and is listed with its schemas", async () => {
    const registry = new Registry();
    await registry.use(remotePlugin, { mcp: { allowCommands: [node] } });
    const engine = new Engine({ store: new MemoryStore(), registry, pollIntervalMs: 50 });
    try {
      const outcome = await engine.runTree([
        {
          id: "sum",
          name: "sum",
          params: { executorId: "mcp_tool" },
          inputs: { server: stdio, tool: "add", arguments: { a: 20, b: 22 } },
        },
      ]);
      expect(outcome.tasks[0]?.result).toMatchObject({ text: "42" });
      const listed = registry.listExecutors().map((e) => e.id);
      expect(listed).toEqual(expect.arrayContaining(["http", "a2a", "mcp_tool"]));
    } finally {
      await engine.stop({ graceMs: 1000 });
    }
  });
});
