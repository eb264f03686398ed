import { Writable } from "node:stream";
import type { Logger } from "@aipartnerupflow/core";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { rpc, testApp } from "../testing/fixtures.js";
import { parseLlmKeyHeader } from "./llm-keys.js";
import { TokenBuckets } from "./rate-limit.js";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  return { lines, logger: createLogger({ level: "info", destination }) };
}

describe("request logs", () => {
  it("carry a request id and never the credentials", async () => {
    const { lines, logger } = capture();
    const { app, engine } = testApp({ logger });
    const res = await app.request("/tasks", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: "Bearer super-secret-token",
        "x-llm-api-key": "openai:sk-very-secret",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "system.health" }),
    });
    await engine.stop({ graceMs: 0 });
    const requestId = res.headers.get("x-request-id");
    expect(requestId).toBeTruthy();
    const access = lines.map((l) => JSON.parse(l)).find((l) => l.msg === "request");
    expect(access).toMatchObject({ requestId, method: "POST", path: "/tasks", status: 200 });
    const all = lines.join("\n");
    expect(all).not.toContain("super-secret-token");
    expect(all).not.toContain("sk-very-secret");
  });

  it("write the access line with the request id first, as a child logger would", async () => {
    const { lines, logger } = capture();
    const { app, engine } = testApp({ logger });
    const res = await app.request("/health");
    await engine.stop({ graceMs: 0 });
    const access = JSON.parse(lines.find((l) => l.includes('"msg":"request"')) as string);
    expect(Object.keys(access)).toEqual([
      "level",
      "time",
      "pid",
      "hostname",
      "requestId",
      "method",
      "path",
      "status",
      "ms",
      "userId",
      "msg",
    ]);
    expect(access).toMatchObject({ level: 30, requestId: res.headers.get("x-request-id"), path: "/health" });
  });

  it("bind the request id to what handlers log for the request", async () => {
    const { lines, logger } = capture();
    const { app, engine } = testApp({ logger });
    engine.store.getTask = () => Promise.reject(new Error("database exploded"));
    const res = await app.request("/tasks", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tasks.get", params: { taskId: "x" } }),
    });
    await engine.stop({ graceMs: 0 });
    expect(res.status).toBe(500);
    const failure = JSON.parse(lines.find((l) => l.includes("JSON-RPC method failed")) as string);
    expect(failure).toMatchObject({ level: 50, requestId: res.headers.get("x-request-id") });
    expect(failure.err.message).toBe("database exploded");
  });

  it("keep the redaction of a logger that was not made by createLogger", async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split("\n").filter(Boolean));
        done();
      },
    });
    const own = pino({ level: "info", redact: { paths: ["path"], censor: "[hidden]" } }, destination);
    const { app, engine } = testApp({ logger: own as unknown as Logger });
    await app.request("/health");
    await engine.stop({ graceMs: 0 });
    const access = JSON.parse(lines.find((l) => l.includes('"msg":"request"')) as string);
    expect(access).toMatchObject({ path: "[hidden]", method: "GET", status: 200 });
    expect(access.requestId).toBeTruthy();
  });

  it("redacts secret-looking fields wherever a caller logs them", () => {
    const { lines, logger } = capture();
    logger.info({ headers: { authorization: "Bearer abc", "x-llm-api-key": "k" }, secrets: { a: "b" }, ok: 1 }, "x");
    expect(lines[0]).not.toContain("Bearer abc");
    expect(lines[0]).not.toContain('"k"');
    expect(JSON.parse(lines[0] as string).ok).toBe(1);
  });

  it("does not leak stack traces in error responses", async () => {
    const { app, engine } = testApp();
    engine.store.getTask = () => Promise.reject(new Error("database exploded at /secret/path.ts:12"));
    const res = await rpc(app, "tasks.get", { taskId: "x" });
    await engine.stop({ graceMs: 0 });
    expect(res.status).toBe(500);
    expect(res.body.error).toEqual({ code: -32603, message: "internal error" });
  });
});

describe("token buckets", () => {
  it("allow a burst, then refill at the configured rate", () => {
    let now = 0;
    const buckets = new TokenBuckets({ burst: 2, perSecond: 1 }, () => now);
    expect([buckets.take("a"), buckets.take("a")]).toEqual([0, 0]);
    expect(buckets.take("a")).toBeGreaterThan(0);
    expect(buckets.take("b")).toBe(0);
    now = 1000;
    expect(buckets.take("a")).toBe(0);
    expect(buckets.take("a")).toBeGreaterThan(0);
  });
});

describe("X-LLM-API-KEY", () => {
  it("maps provider:key to llm:<provider>", () => {
    expect(parseLlmKeyHeader("anthropic:sk-1")).toEqual({ "llm:anthropic": "sk-1" });
    expect(parseLlmKeyHeader("sk-bare")).toEqual({ "llm:openai": "sk-bare" });
    expect(parseLlmKeyHeader("")).toBeUndefined();
    expect(parseLlmKeyHeader(undefined)).toBeUndefined();
  });
});

describe("failed logins", () => {
  it("are limited per IP before auth, while valid users keep their own per-user limit", async () => {
    const { createToken } = await import("../auth/token.js");
    const secret = "rate-limit-secret-long-enough";
    const { app, engine } = testApp({ auth: { jwtSecret: secret }, rateLimit: { burst: 3, perSecond: 0.001 } });
    try {
      const good = { authorization: `Bearer ${await createToken({ secret, sub: "alice" })}` };
      // A valid user is counted per user, not against the IP's failed-login budget.
      for (let i = 0; i < 3; i++) expect((await rpc(app, "system.health", undefined, good)).status).toBe(200);
      expect((await rpc(app, "system.health", undefined, good)).status).toBe(429);
      const bad = { authorization: "Bearer guessed-token" };
      for (let i = 0; i < 3; i++) expect((await rpc(app, "system.health", undefined, bad)).status).toBe(401);
      const blocked = await rpc(app, "system.health", undefined, bad);
      expect(blocked.status).toBe(429);
      expect(blocked.body.error?.code).toBe(-32000);
      // The address is locked out for guessing, whatever token it sends next.
      const bob = { authorization: `Bearer ${await createToken({ secret, sub: "bob" })}` };
      expect((await rpc(app, "system.health", undefined, bob)).status).toBe(429);
    } finally {
      await engine.stop({ graceMs: 0 });
    }
  });
});
