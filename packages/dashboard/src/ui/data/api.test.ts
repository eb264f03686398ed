import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, startTestServer } from "../../../test-support/server.js";
import { TreeFollower } from "./follow.js";
import { treesRoute } from "./route.js";
import { AuthRequiredError, RpcClient, RpcError, UnreachableError } from "./rpc.js";
import { type TokenStore, sessionTokenStore } from "./token.js";
import { applyEvents, buildTree, type TreeModel } from "./tree-model.js";
import { loadTrees } from "./trees.js";
import type { Task, TaskEvent } from "./types.js";

const memory = (): TokenStore => sessionTokenStore(undefined);

let server: TestServer;
let client: RpcClient;
beforeAll(async () => {
  server = await startTestServer();
  client = new RpcClient({ apiUrl: server.url, tokens: memory() });
});
afterAll(() => server.close());

const failingTree = (prefix: string) => [
  {
    name: `${prefix}-report`,
    params: { executorId: "aggregate_results" },
    dependencies: [`${prefix}-ok`, `${prefix}-bad`],
  },
  { name: `${prefix}-ok`, parentId: `${prefix}-report`, params: { executorId: "echo" }, inputs: { n: 1 } },
  { name: `${prefix}-bad`, parentId: `${prefix}-report`, params: { executorId: "boom" } },
];

async function until<T>(probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("RpcClient against a real server", () => {
  it("calls, batches and turns errors into typed ones", async () => {
    const created = await client.call<{ rootId: string }>("tasks.create", { tasks: failingTree("c") });
    const [tree, count, missing] = await client.batch<unknown>([
      { method: "tasks.tree", params: { rootId: created.rootId, format: "flat" } },
      { method: "tasks.count", params: { rootId: created.rootId } },
      { method: "tasks.get", params: { taskId: "no-such-task" } },
    ]);
    expect((tree as { tasks: Task[] }).tasks).toHaveLength(3);
    expect((count as { total: number }).total).toBe(3);
    expect(missing).toBeInstanceOf(RpcError);
    expect((missing as RpcError).code).toBe(-32001);
    await expect(client.call("tasks.get", { taskId: "no-such-task" })).rejects.toMatchObject({
      name: "RpcError",
      code: -32001,
    });
    await expect(client.call("tasks.nope")).rejects.toMatchObject({ code: -32601 });
    expect(await client.batch([])).toEqual([]);
    expect(await client.methods()).toEqual(expect.arrayContaining(["tasks.list", "tasks.queue.stats"]));
  });

  it("streams a run's events until the tree finishes", async () => {
    const created = await client.call<{ rootId: string }>("tasks.create", { tasks: failingTree("s") });
    const seen: TaskEvent[] = [];
    let head: Record<string, unknown> | undefined;
    const last = await client.stream(
      "tasks.execute",
      { taskId: created.rootId },
      { onHead: (h) => (head = h), onEvent: (e) => seen.push(e) },
    );
    expect(head?.rootId).toBe(created.rootId);
    expect(seen.at(-1)?.type).toBe("tree.finished");
    expect(seen.some((e) => e.type === "task.failed" && e.error?.code === "BOOM")).toBe(true);
    expect(last).toBe(seen.at(-1)?.seq);
  });

  it("says when the server is unreachable", async () => {
    const dead = new RpcClient({ apiUrl: "http://127.0.0.1:9", tokens: memory() });
    await expect(dead.call("tasks.list")).rejects.toBeInstanceOf(UnreachableError);
  });
});

describe("RpcClient with auth on", () => {
  it("asks for a token, tells a refused one apart, and sends a good one", async () => {
    const secured = await startTestServer({ auth: true });
    try {
      const tokens = memory();
      const c = new RpcClient({ apiUrl: secured.url, tokens });
      expect(await c.authRequired()).toBe(true);
      expect(await client.authRequired()).toBe(false);
      expect(await new RpcClient({ apiUrl: "http://127.0.0.1:9", tokens }).authRequired()).toBeNull();
      const none = await c.call("tasks.list").catch((e: unknown) => e);
      expect(none).toBeInstanceOf(AuthRequiredError);
      expect((none as AuthRequiredError).hadToken).toBe(false);
      tokens.set("not-a-jwt");
      expect(((await c.call("tasks.list").catch((e: unknown) => e)) as AuthRequiredError).hadToken).toBe(true);
      tokens.set(await secured.token("alice"));
      expect(await c.call("tasks.list")).toMatchObject({ total: 0 });
    } finally {
      await secured.close();
    }
  });
});

describe("loadTrees", () => {
  it("lists roots with counts and newest run, filtered by status, text and page", async () => {
    const fresh = await startTestServer();
    try {
      const c = new RpcClient({ apiUrl: fresh.url, tokens: memory() });
      expect((await loadTrees(c, treesRoute(), Date.now())).total).toBe(0);
      const ok = await c.call<{ rootId: string }>("tasks.create", {
        tasks: [{ name: "alpha-ok", params: { executorId: "echo" } }],
      });
      await c.call("tasks.execute", { taskId: ok.rootId, wait: true });
      const bad = await c.call<{ rootId: string }>("tasks.create", { tasks: failingTree("beta") });
      await c.call("tasks.execute", { taskId: bad.rootId, wait: true });

      const all = await loadTrees(c, treesRoute(), Date.now());
      expect(all.total).toBe(2);
      expect(all.rows.map((r) => r.root.name)).toEqual(["beta-report", "alpha-ok"]);
      const beta = all.rows[0];
      expect(beta?.counts).toMatchObject({ completed: 1, failed: 2 });
      expect(beta?.total).toBe(3);
      expect(beta?.progress).toBe(1);
      expect(beta?.execution?.status).toBe("failed");
      expect(beta?.finishedAt).not.toBeNull();
      expect(beta?.durationMs).toBeGreaterThanOrEqual(0);

      expect((await loadTrees(c, treesRoute({ status: ["failed"] }), Date.now())).rows.map((r) => r.root.name)).toEqual(
        ["beta-report"],
      );
      expect((await loadTrees(c, treesRoute({ q: "ALPHA" }), Date.now())).rows.map((r) => r.root.name)).toEqual([
        "alpha-ok",
      ]);
      const second = await loadTrees(c, treesRoute({ offset: 1 }), Date.now());
      expect(second.rows.map((r) => r.root.name)).toEqual(["alpha-ok"]);
      expect(second.total).toBe(2);
    } finally {
      await fresh.close();
    }
  });
});

describe("TreeFollower", () => {
  it("reads the tree and its history, then follows a run live and reads the tree again when it ends", async () => {
    const created = await client.call<{ rootId: string }>("tasks.create", {
      tasks: [
        { name: "f-root", params: { executorId: "aggregate_results" }, dependencies: ["f-slow"] },
        { name: "f-slow", parentId: "f-root", params: { executorId: "gate", key: "follow" } },
      ],
    });
    let model: TreeModel | null = null;
    const live: boolean[] = [];
    const history: TaskEvent[] = [];
    const follower = new TreeFollower(
      client,
      created.rootId,
      {
        onTree: (tasks) => (model = buildTree(tasks)),
        onEvents: (events, isHistory) => {
          if (isHistory) history.push(...events);
          else if (model) model = applyEvents(model, events).model;
        },
        onLive: (l) => live.push(l),
        onError: (err) => {
          throw err;
        },
      },
      { idleMs: 50, flushMs: 10 },
    );
    const running = follower.run();
    try {
      await until(() => model ?? undefined);
      const slow = (m: TreeModel | null) => [...(m?.tasks.values() ?? [])].find((t) => t.name === "f-slow");
      expect(slow(model)?.status).toBe("pending");
      await client.call("tasks.execute", { taskId: created.rootId });
      // The gate task runs: the follower sees it start from the live stream.
      await until(() => (slow(model)?.status === "in_progress" ? true : undefined));
      expect(live).toContain(true);
      server.release("follow");
      await until(() => (model?.tasks.get(created.rootId)?.status === "completed" ? true : undefined));
      expect(slow(model)?.result).toEqual({ released: "follow" });
    } finally {
      follower.stop();
      await running;
    }
    // History is what was stored before the follower looked: the two task.created events.
    expect(history.map((e) => e.type)).toEqual(["task.created", "task.created"]);
  });
});
