import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createToken } from "../auth/token.js";
import type { ServerHandle } from "../server.js";
import { listen, smallTree, testApp } from "../testing/fixtures.js";

const SECRET = "schedules-test-secret";
const { app, engine } = testApp({ auth: { jwtSecret: SECRET } });
let server: ServerHandle;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  await engine.start();
  server = await listen(app);
  tokens.alice = await createToken({ secret: SECRET, sub: "alice" });
  tokens.bob = await createToken({ secret: SECRET, sub: "bob" });
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

const every = { type: "interval", everyMs: 60_000 };

describe("schedules.* through a real server", () => {
  it("schedules.trigger with an idempotencyKey fires once however often it is retried", {
    timeout: 30_000,
  }, async () => {
    tokens.carol = await createToken({ secret: SECRET, sub: "carol" });
    const s = (await call("carol", "schedules.create", { name: "once-only", tasks: smallTree("k"), trigger: every }))
      .result;
    const first = await call("carol", "schedules.trigger", { scheduleId: s.id, idempotencyKey: "fire-1" });
    expect(first.error).toBeUndefined();
    const again = await call("carol", "schedules.trigger", { scheduleId: s.id, idempotencyKey: "fire-1" });
    expect(again.result).toEqual(first.result);
    const { runs } = (await call("carol", "schedules.runs", { scheduleId: s.id })).result;
    expect(runs.map((r: { rootId: string }) => r.rootId)).toEqual([first.result.rootId]);
    // The same key for another schedule is another request: refused, naming the key.
    const other = (await call("carol", "schedules.create", { name: "other", tasks: smallTree("o"), trigger: every }))
      .result;
    const reused = await call("carol", "schedules.trigger", { scheduleId: other.id, idempotencyKey: "fire-1" });
    expect(reused.error.code).toBe(-32602);
    expect(reused.error.data.errors[0].path).toBe("idempotencyKey");
    // Keys are per user: bob's "fire-1" is his own (and he may not fire carol's schedule anyway).
    expect((await call("bob", "schedules.trigger", { scheduleId: s.id, idempotencyKey: "fire-1" })).error.code).toBe(
      -32001,
    );
  });

  it("create, get, list, update, trigger, runs and delete, isolated per user", { timeout: 30_000 }, async () => {
    const created = await call("alice", "schedules.create", { name: "hourly", tasks: smallTree("s"), trigger: every });
    expect(created.error).toBeUndefined();
    const s = created.result;
    expect(s).toMatchObject({
      name: "hourly",
      userId: "alice",
      enabled: true,
      catchUp: "one",
      overlap: "allow",
      runs: 0,
    });
    expect(Date.parse(s.nextFireAt) - Date.parse(s.createdAt)).toBe(60_000);

    expect((await call("alice", "schedules.get", { scheduleId: s.id })).result.id).toBe(s.id);
    // Another user sees nothing of it; an admin sees it.
    expect((await call("bob", "schedules.get", { scheduleId: s.id })).error.code).toBe(-32001);
    expect((await call("bob", "schedules.list", {})).result).toEqual({ schedules: [], total: 0 });
    expect((await call("bob", "schedules.trigger", { scheduleId: s.id })).error.code).toBe(-32001);
    expect((await call("admin", "schedules.list", {})).result.schedules.map((x: { id: string }) => x.id)).toContain(
      s.id,
    );
    expect((await call("alice", "schedules.list", {})).result.total).toBe(1);

    const fired = (await call("alice", "schedules.trigger", { scheduleId: s.id })).result;
    expect(fired).toMatchObject({ scheduleId: s.id, rootId: expect.any(String), executionId: expect.any(String) });
    await vi.waitFor(
      async () => {
        const { runs } = (await call("alice", "schedules.runs", { scheduleId: s.id })).result;
        expect(runs).toEqual([{ fireAt: fired.fireAt, rootId: fired.rootId, status: "completed", manual: true }]);
      },
      { timeout: 20_000, interval: 50 },
    );
    // The fired tree is a copy of the template, owned by alice, linked to the schedule.
    const root = (await call("alice", "tasks.get", { taskId: fired.rootId })).result;
    expect(root).toMatchObject({ name: "s-root", userId: "alice", status: "completed" });
    expect(root.metadata.schedule).toEqual({
      scheduleId: s.id,
      scheduleName: "hourly",
      fireAt: fired.fireAt,
      manual: true,
    });
    expect((await call("bob", "tasks.get", { taskId: fired.rootId })).error.code).toBe(-32001);

    const updated = (await call("alice", "schedules.update", { scheduleId: s.id, enabled: false, name: "paused" }))
      .result;
    expect(updated).toMatchObject({ name: "paused", enabled: false, nextFireAt: null });
    expect((await call("bob", "schedules.update", { scheduleId: s.id, enabled: true })).error.code).toBe(-32001);

    expect((await call("bob", "schedules.delete", { scheduleId: s.id })).error.code).toBe(-32001);
    expect((await call("alice", "schedules.delete", { scheduleId: s.id })).result).toEqual({ deleted: true });
    expect((await call("alice", "schedules.get", { scheduleId: s.id })).error.code).toBe(-32001);
  });

  it("a bad cron expression, an unknown time zone and endAt before startAt answer -32602 naming the field", async () => {
    const base = { name: "bad", tasks: smallTree("b") };
    const fieldOf = async (params: unknown) => {
      const reply = await call("alice", "schedules.create", params);
      expect(reply.error?.code).toBe(-32602);
      return reply.error.data.errors.map((e: { path: string }) => e.path);
    };
    expect(await fieldOf({ ...base, trigger: { type: "cron", expression: "61 * * * *" } })).toEqual([
      "params.trigger.expression",
    ]);
    expect(
      await fieldOf({ ...base, trigger: { type: "cron", expression: "0 9 * * *", timezone: "Mars/Base" } }),
    ).toEqual(["params.trigger.timezone"]);
    expect(
      await fieldOf({ ...base, trigger: every, startAt: "2030-02-01T00:00:00Z", endAt: "2030-01-01T00:00:00Z" }),
    ).toEqual(["params.endAt"]);
    // On update, endAt is checked against the stored startAt.
    const s = (await call("alice", "schedules.create", { ...base, trigger: every, startAt: "2030-02-01T00:00:00Z" }))
      .result;
    const reply = await call("alice", "schedules.update", { scheduleId: s.id, endAt: "2030-01-01T00:00:00Z" });
    expect(reply.error.code).toBe(-32602);
    expect(reply.error.data.errors.map((e: { path: string }) => e.path)).toEqual(["params.endAt"]);
    // The template must be a valid tree.
    const template = await call("alice", "schedules.create", { name: "x", tasks: [{ params: {} }], trigger: every });
    expect(template.error.code).toBe(-32602);
  });

  it("MCP: create_schedule, list_schedules and trigger_schedule", { timeout: 30_000 }, async () => {
    const client = new Client({ name: "schedules-test", version: "1.0.0" });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${tokens.bob}` } },
      }),
    );
    try {
      const created = (await client.callTool({
        name: "create_schedule",
        arguments: { name: "from mcp", tasks: smallTree("m"), trigger: { type: "cron", expression: "0 9 * * 1-5" } },
      })) as { isError?: boolean; structuredContent?: Record<string, any> };
      expect(created.isError).toBeFalsy();
      const id = created.structuredContent?.id as string;
      expect(created.structuredContent?.nextFireAt).toEqual(expect.any(String));
      const listed = (await client.callTool({ name: "list_schedules", arguments: {} })) as {
        structuredContent?: Record<string, any>;
      };
      expect(listed.structuredContent?.schedules.map((s: { id: string }) => s.id)).toEqual([id]);
      const fired = (await client.callTool({ name: "trigger_schedule", arguments: { scheduleId: id } })) as {
        structuredContent?: Record<string, any>;
      };
      expect(fired.structuredContent).toMatchObject({ scheduleId: id, rootId: expect.any(String) });
    } finally {
      await client.close();
    }
  });
});
