import { execFile } from "node:child_process";
import { request } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerHandle } from "../server.js";
import { listen, testApp } from "../testing/fixtures.js";

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const CONFORMANCE = join(
  dirname(require.resolve("@modelcontextprotocol/conformance/package.json")),
  "dist",
  "index.js",
);

/** The scenarios of the official MCP conformance suite that apply to any server. */
const SCENARIOS = [
  "server-initialize",
  "ping",
  "tools-list",
  "resources-list",
  "logging-set-level",
  "dns-rebinding-protection",
];

/** One raw HTTP request (fetch does not let a caller set Host). */
function raw(
  url: string,
  init: { method?: string; path: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        method: init.method ?? "POST",
        path: init.path,
        headers: init.headers,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(init.body);
  });
}

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } },
});
const MCP_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

describe("MCP conformance (official suite) against /mcp on a real server", () => {
  const { app, engine } = testApp();
  let server: ServerHandle;
  beforeAll(async () => {
    server = await listen(app);
  });
  afterAll(async () => {
    await engine.stop({ graceMs: 0 });
    await server.close();
  });

  for (const scenario of SCENARIOS) {
    it(`passes ${scenario}`, { timeout: 60_000 }, async () => {
      const { stdout } = await run(
        process.execPath,
        [CONFORMANCE, "server", "--url", `${server.url}/mcp`, "--scenario", scenario],
        { env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" }, timeout: 50_000 },
      );
      const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(stdout);
      expect(summary, stdout).not.toBeNull();
      const [, passed, total, failed] = summary as RegExpExecArray;
      expect(Number(total), stdout).toBeGreaterThan(0);
      expect(Number(failed), stdout).toBe(0);
      expect(passed, stdout).toBe(total);
    });
  }
});

describe("Host and Origin checks (DNS rebinding protection)", () => {
  const { app, engine } = testApp();
  const allowed = testApp({ allowedHosts: ["apflow.example.com", "api.example.com:8443"] });
  let server: ServerHandle;
  let allowedServer: ServerHandle;
  beforeAll(async () => {
    server = await listen(app);
    allowedServer = await listen(allowed.app);
  });
  afterAll(async () => {
    await engine.stop({ graceMs: 0 });
    await allowed.engine.stop({ graceMs: 0 });
    await server.close();
    await allowedServer.close();
  });

  it("refuses a foreign Host or Origin on every route of a loopback server with 403", async () => {
    const port = new URL(server.url).port;
    for (const path of ["/mcp", "/tasks", "/a2a", "/health", "/.well-known/agent-card.json"]) {
      const method = path === "/health" || path.startsWith("/.well-known") ? "GET" : "POST";
      const body = method === "POST" ? INITIALIZE : undefined;
      const badHost = await raw(server.url, {
        method,
        path,
        headers: { ...MCP_HEADERS, host: `evil.example:${port}` },
        body,
      });
      expect(badHost.status, path).toBe(403);
      expect(JSON.parse(badHost.body).error.message).toMatch(/Host "evil\.example/);
      const badOrigin = await raw(server.url, {
        method,
        path,
        headers: { ...MCP_HEADERS, host: `127.0.0.1:${port}`, origin: "http://evil.example" },
        body,
      });
      expect(badOrigin.status, path).toBe(403);
    }
  });

  it("answers localhost, 127.0.0.1 and [::1] names with any port, and same-host origins", async () => {
    for (const host of ["localhost", "127.0.0.1:1234", "[::1]:80", "LOCALHOST:9"]) {
      const res = await raw(server.url, { path: "/mcp", headers: { ...MCP_HEADERS, host }, body: INITIALIZE });
      expect(res.status, host).toBe(200);
    }
    const withOrigin = await raw(server.url, {
      path: "/mcp",
      headers: { ...MCP_HEADERS, host: "localhost", origin: "http://localhost:5173" },
      body: INITIALIZE,
    });
    expect(withOrigin.status).toBe(200);
  });

  it("answers the host names an operator allowed, and only those", async () => {
    const ok = await raw(allowedServer.url, {
      method: "GET",
      path: "/health",
      headers: { host: "apflow.example.com", origin: "https://apflow.example.com" },
    });
    expect(ok.status).toBe(200);
    const withPort = await raw(allowedServer.url, {
      method: "GET",
      path: "/health",
      headers: { host: "api.example.com:8443" },
    });
    expect(withPort.status).toBe(200);
    const otherPort = await raw(allowedServer.url, {
      method: "GET",
      path: "/health",
      headers: { host: "api.example.com:9000" },
    });
    expect(otherPort.status).toBe(403);
    const other = await raw(allowedServer.url, { method: "GET", path: "/health", headers: { host: "evil.example" } });
    expect(other.status).toBe(403);
  });

  it("refuses an allow-list entry that is not a host name", () => {
    expect(() => testApp({ allowedHosts: ["http://x.example/"] })).toThrow(/allowed host/);
  });
});
