import type { TaskEvent } from "@aipartnerupflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../auth/token.js";
import type { ServerHandle } from "../server.js";
import { listen, smallTree, testApp } from "../testing/fixtures.js";
import { ApflowClient, ApflowRpcError } from "./client.js";

const SECRET = "client-test-secret";
const { app, engine } = testApp({ auth: { jwtSecret: SECRET } });
let server: ServerHandle;
let client: ApflowClient;

beforeAll(async () => {
  server = await listen(app);
  client = new ApflowClient({ url: server.url, token: await createToken({ secret: SECRET, sub: "cli" }) });
});
afterAll(async () => {
  await engine.stop({ graceMs: 0 });
  await server.close();
});

describe("ApflowClient", () => {
  it("creates, streams, reads and copies through typed methods", async () => {
    const created = await client.createTasks(smallTree("c") as never);
    const sub = client.executeStream({ taskId: created.rootId });
    const events: TaskEvent[] = [];
    for await (const e of sub) events.push(e);
    expect((await sub.head).rootId).toBe(created.rootId);
    expect(events.at(-1)?.type).toBe("tree.finished");
    expect(events.filter((e) => e.type === "tree.finished")).toHaveLength(1);

    expect((await client.getTask(created.rootId)).status).toBe("completed");
    expect((await client.tree(created.rootId)).tree.children).toHaveLength(2);
    expect((await client.treeFlat(created.rootId)).tasks).toHaveLength(3);
    expect((await client.children(created.rootId)).tasks).toHaveLength(2);
    expect((await client.taskDetail(created.rootId)).attempts.length).toBe(1);
    expect((await client.listTasks({ rootsOnly: true })).total).toBeGreaterThanOrEqual(1);
    expect((await client.countTasks()).counts.completed).toBeGreaterThanOrEqual(3);
    const replay = await client.events({ rootId: created.rootId });
    const replayed = new Set(replay.events.map((e) => e.seq));
    expect(events.every((e) => replayed.has(e.seq))).toBe(true);
    const followed: TaskEvent[] = [];
    for await (const e of client.eventsStream({ rootId: created.rootId })) followed.push(e);
    expect(followed.filter((e) => e.type === "tree.finished")).toHaveLength(1);

    const copy = await client.copyTask(created.rootId, { mode: "full" });
    expect(copy.rootId).toBeTruthy();
    const outcome = await client.executeAndWait({ taskId: copy.rootId as string, rerun: "all" });
    expect(outcome.status).toBe("completed");
    expect((await client.updateTask({ taskId: copy.rootId as string, metadata: { k: "v" } })).metadata).toEqual({
      k: "v",
    });
    expect((await client.deleteTask(copy.rootId as string)).deleted).toHaveLength(3);

    const slow = await client.createTasks([{ name: "slow", params: { executorId: "wait" } }]);
    await client.execute({ taskId: slow.rootId });
    expect((await client.runningCount()).count).toBe(1);
    expect((await client.runningList()).executions).toHaveLength(1);
    expect((await client.runningStatus([slow.rootId])).statuses[0]?.running).toBe(true);
    await client.cancel(slow.rootId);
    expect((await client.queueStats()).counts).toBeDefined();
    expect((await client.listExecutors()).executors.length).toBeGreaterThan(0);
    expect((await client.health()).status).toBe("ok");
  });

  it("throws ApflowRpcError with the code, data and HTTP status", async () => {
    const err = await client.getTask("missing").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApflowRpcError);
    expect((err as ApflowRpcError).code).toBe(-32001);
    expect((err as ApflowRpcError).httpStatus).toBe(404);
    const anonymous = new ApflowClient({ url: server.url });
    await expect(anonymous.health()).rejects.toMatchObject({ code: -32004, httpStatus: 401 });
    const streamErr = client.executeStream({ taskId: "missing" });
    await expect(streamErr[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: -32001 });
  });
});
