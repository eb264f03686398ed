import { nodeRegistration } from "@aipartnerupflow/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../auth/token.js";
import type { ServerHandle } from "../server.js";
import { listen, testApp } from "../testing/fixtures.js";

const SECRET = "nodes-test-secret";
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

describe("nodes.* through a real server", () => {
  it("lists, gets, drains and requeues nodes (admins only), and refuses bad params by field", async () => {
    const nodes = engine.store.nodes;
    if (!nodes) throw new Error("test store has no nodes facet");
    const now = engine.clock();
    await nodes.register(nodeRegistration("alive", { heartbeatMs: 60_000, deadAfterMs: 600_000 }), now);
    await nodes.register(
      nodeRegistration("gone", { heartbeatMs: 10, deadAfterMs: 100 }),
      new Date(now.getTime() - 60_000),
    );
    expect((await call("alice", "nodes.list", {})).error.code).toBe(-32004);
    const { nodes: listed } = (await call("admin", "nodes.list", {})).result;
    expect(listed.map((n: { nodeId: string; state: string }) => [n.nodeId, n.state])).toEqual([
      ["gone", "dead"],
      ["alive", "idle"],
    ]);
    expect((await call("admin", "nodes.get", { nodeId: "alive" })).result).toMatchObject({
      nodeId: "alive",
      executors: ["sleep", "échec ✓"],
      state: "idle",
      wakeups: null,
    });
    await nodes.heartbeat(
      "alive",
      { running: 0, load: 0, wakeups: { transport: "redis", connected: false, since: now } },
      now,
    );
    expect((await call("admin", "nodes.get", { nodeId: "alive" })).result.wakeups).toEqual({
      transport: "redis",
      connected: false,
      since: now.toISOString(),
    });
    expect((await call("admin", "nodes.get", { nodeId: "nope" })).error.code).toBe(-32001);
    const bad = await call("admin", "nodes.get", { nodeId: "" });
    expect(bad.error.code).toBe(-32602);
    expect(bad.error.data.errors[0].path).toBe("params.nodeId");
    expect((await call("admin", "nodes.drain", { nodeId: "alive" })).result.state).toBe("draining");
    expect((await call("admin", "nodes.drain", { nodeId: "alive", draining: false })).result.state).toBe("idle");
    const refused = await call("admin", "nodes.requeue", { nodeId: "alive" });
    expect(refused.error.code).toBe(-32602);
    expect(refused.error.message).toContain("idle");
    expect((await call("admin", "nodes.requeue", { nodeId: "gone" })).result).toEqual({
      nodeId: "gone",
      state: "dead",
      tasks: [],
    });
    const { events } = (await call("admin", "nodes.events", { nodeId: "gone" })).result;
    expect(events.map((e: { type: string }) => e.type)).toEqual(["node.leases_handed_back"]);
  });
});
