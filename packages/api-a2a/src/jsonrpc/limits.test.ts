import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../auth/token.js";
import type { ServerHandle } from "../server.js";
import { listen, testApp } from "../testing/fixtures.js";

const SECRET = "limits-test-secret";
const { app, engine } = testApp({ auth: { jwtSecret: SECRET } });
let server: ServerHandle;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  await engine.start();
  server = await listen(app);
  tokens.alice = await createToken({ secret: SECRET, sub: "alice" });
  tokens.admin = await createToken({ secret: SECRET, sub: "root", roles: ["admin"] });
});
afterAll(async () => {
  await engine.stop({ graceMs: 0 });
  await server.close();
});

async function call(who: string, method: string, params: unknown): Promise<any> {
  const res = await fetch(`${server.url}/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${tokens[who]}` },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return res.json();
}

describe("limits.* through a real server", () => {
  it("admins set, get, list and delete rules", async () => {
    expect((await call("admin", "limits.set", { scope: "user", maxRunning: 2 })).result).toEqual({
      scope: "user",
      maxRunning: 2,
    });
    await call("admin", "limits.set", {
      scope: "executor",
      key: "llm",
      maxRunning: 3,
      rate: { starts: 10, perMs: 60_000 },
    });
    expect((await call("admin", "limits.get", { scope: "executor", key: "llm" })).result.rule).toEqual({
      scope: "executor",
      key: "llm",
      maxRunning: 3,
      rate: { starts: 10, perMs: 60_000 },
    });
    expect((await call("admin", "limits.get", { scope: "root" })).result).toEqual({ rule: null });
    expect((await call("admin", "limits.list", {})).result.rules.map((r: { scope: string }) => r.scope)).toEqual([
      "user",
      "executor",
    ]);
    expect((await call("admin", "limits.delete", { scope: "user" })).result).toEqual({ deleted: true });
    expect((await call("admin", "limits.list", { scope: "user" })).result.rules).toEqual([]);
  });

  it("a bad rule is -32602 naming the field", async () => {
    const bad = await call("admin", "limits.set", { scope: "root", maxRunningRoots: 1 });
    expect(bad.error.code).toBe(-32602);
    expect(JSON.stringify(bad.error.data)).toContain("maxRunningRoots");
    const zero = await call("admin", "limits.set", { scope: "global", maxRunning: 0 });
    expect(zero.error.code).toBe(-32602);
    expect(JSON.stringify(zero.error.data)).toContain("maxRunning");
  });

  it("is refused to users who are not admins", async () => {
    for (const [method, params] of [
      ["limits.set", { scope: "global", maxRunning: 1 }],
      ["limits.list", {}],
      ["limits.get", { scope: "global" }],
      ["limits.delete", { scope: "global" }],
    ] as const) {
      expect((await call("alice", method, params)).error.code).toBe(-32004);
    }
  });
});
