import { Role, type StreamResponse, type Task as A2aTask, TaskState } from "@a2a-js/sdk";
import { type Client, ClientFactory } from "@a2a-js/sdk/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerHandle } from "../server.js";
import { listen, rpc, testApp } from "../testing/fixtures.js";
import { dataPart, textPart } from "./mapping.js";

let server: ServerHandle;
let client: Client;
const { app, engine } = testApp();

const ACCOUNT_SCHEMA = {
  type: "object",
  properties: { account: { type: "string", minLength: 4 } },
  required: ["account"],
};

// `ask` waits for an account number, then answers with it.
engine.registry.registerExecutor({
  id: "ask",
  execute: (_inputs, ctx) =>
    ctx.resumeInput !== undefined
      ? { got: ctx.resumeInput }
      : ctx.waitFor({ prompt: "Which account should be refunded?", schema: ACCOUNT_SCHEMA }),
});

beforeAll(async () => {
  server = await listen(app);
  client = await new ClientFactory().createFromUrl(server.url);
});
afterAll(async () => {
  await engine.stop({ graceMs: 0 });
  await server.close();
});

function send(parts: ReturnType<typeof dataPart>[], taskId = "") {
  return {
    tenant: "",
    message: {
      messageId: crypto.randomUUID(),
      contextId: "",
      taskId,
      role: Role.ROLE_USER,
      parts,
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: undefined,
    metadata: undefined,
  };
}

/** An ask behind an approval: the root reports the answer once both are done. */
function askTree(prefix: string) {
  return {
    tasks: [
      { name: `${prefix}-report`, params: { executorId: "aggregate_results" }, dependencies: [`${prefix}-ask`] },
      { name: `${prefix}-ask`, parentId: `${prefix}-report`, params: { executorId: "ask" } },
    ],
  };
}

function parts(task: A2aTask) {
  return task.status?.message?.parts.map((p) => p.content) ?? [];
}

describe("A2A: a waiting tree is input-required and a message resumes it", () => {
  it("SendMessage answers input-required with the prompt and schema; a data reply completes the tree", async () => {
    const asked = (await client.sendMessage(send([dataPart(askTree("a"))]))) as A2aTask;
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const [text, data] = parts(asked);
    expect(text).toEqual({ $case: "text", value: "Which account should be refunded?" });
    expect(data?.$case).toBe("data");
    const question = data?.value as { taskId: string; schema: unknown; prompt: string };
    expect(question.schema).toEqual(ACCOUNT_SCHEMA);
    expect((await engine.store.getTask(question.taskId))?.status).toBe("waiting");

    // GetTask says the same (read from the store, not from a stream).
    const got = await client.getTask({ tenant: "", id: asked.id });
    expect(got.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(got.status?.message?.parts[1]?.content?.value).toMatchObject({ taskId: question.taskId });

    // An answer that does not match the schema is refused, naming the field; the task still waits.
    await expect(client.sendMessage(send([dataPart({ account: "1" })], asked.id))).rejects.toThrow(/account/);
    expect((await engine.store.getTask(question.taskId))?.status).toBe("waiting");

    const done = (await client.sendMessage(send([dataPart({ account: "DE-1234" })], asked.id))) as A2aTask;
    expect(done.id).toBe(asked.id);
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const ask = await engine.store.getTask(question.taskId);
    expect(ask?.result).toEqual({ got: { account: "DE-1234" } });

    // The tree is finished: a second answer cannot change it.
    await expect(client.sendMessage(send([dataPart({ account: "DE-9999" })], asked.id))).rejects.toThrow();
  });

  it("streams input-required and ends there; resubscribe sees input-required, then working, then completed", async () => {
    const updates: StreamResponse[] = [];
    for await (const r of client.sendMessageStream(send([dataPart(askTree("s"))]))) updates.push(r);
    const rootId = (updates[0]?.payload?.value as A2aTask | undefined)?.id as string;
    const last = updates.at(-1)?.payload;
    expect(last?.$case).toBe("statusUpdate");
    expect(last?.$case === "statusUpdate" && last.value.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);

    const followed = client.resubscribeTask({ tenant: "", id: rootId });
    const first = await followed.next();
    expect((first.value?.payload?.value as A2aTask | undefined)?.status?.state).toBe(
      TaskState.TASK_STATE_INPUT_REQUIRED,
    );
    const rest: StreamResponse[] = [];
    const reading = (async () => {
      for await (const r of followed) rest.push(r);
    })();
    // Answered through another surface (JSON-RPC): the A2A stream follows.
    const waiting = (await engine.store.listTasks({ rootId, status: "waiting" })).tasks;
    expect(waiting).toHaveLength(1);
    const resumed = await rpc(app, "tasks.resume", { taskId: waiting[0]?.id, input: { account: "FR-7777" } });
    expect(resumed.body.error).toBeUndefined();
    await reading;
    const states = rest.map((r) => (r.payload?.$case === "statusUpdate" ? r.payload.value.status?.state : undefined));
    expect(states.at(-1)).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(states).toContain(TaskState.TASK_STATE_WORKING);
    expect((await client.getTask({ tenant: "", id: rootId })).status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  });

  it("an approval is answered with a plain yes; with two questions open the reply names the task", async () => {
    const tree = {
      tasks: [
        { name: "both", params: { executorId: "aggregate_results" }, dependencies: ["ok", "acct"] },
        { name: "ok", parentId: "both", params: { executorId: "approval" }, inputs: { prompt: "Refund 120 EUR?" } },
        { name: "acct", parentId: "both", params: { executorId: "ask" } },
      ],
    };
    const sent = await client.sendMessage({
      ...send([dataPart(tree)]),
      configuration: {
        acceptedOutputModes: [],
        taskPushNotificationConfig: undefined,
        historyLength: undefined,
        returnImmediately: true,
      },
    });
    const rootId = (sent as A2aTask).id;
    await expect
      .poll(async () => (await engine.store.listTasks({ rootId, status: "waiting" })).total, { timeout: 20_000 })
      .toBe(2);
    const asked = await client.getTask({ tenant: "", id: rootId });
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(asked.status?.message?.parts.filter((p) => p.content?.$case === "data")).toHaveLength(2);

    await expect(client.sendMessage(send([textPart("yes")], rootId))).rejects.toThrow(/2 tasks/);
    const approval = (await engine.store.listTasks({ rootId })).tasks.find((t) => t.name === "ok");
    const still = (await client.sendMessage(
      send([dataPart({ taskId: approval?.id, input: { approved: true } })], rootId),
    )) as A2aTask;
    // One question answered, one open: still input-required, now asking only for the account.
    expect(still.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect(still.status?.message?.parts[0]?.content?.value).toBe("Which account should be refunded?");
    const done = (await client.sendMessage(send([dataPart({ account: "NL-0001" })], rootId))) as A2aTask;
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
  });

  it("a rejection fails the tree", async () => {
    const tree = {
      tasks: [
        { name: "gate", params: { executorId: "approval" }, inputs: { prompt: "Delete the backups?" } },
        { name: "after", parentId: "gate", params: { executorId: "echo" }, dependencies: ["gate"] },
      ],
    };
    const asked = (await client.sendMessage(send([dataPart(tree)]))) as A2aTask;
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const done = (await client.sendMessage(send([textPart("no")], asked.id))) as A2aTask;
    expect(done.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    const after = (await engine.store.listTasks({ rootId: asked.id })).tasks.find((t) => t.name === "after");
    expect(after?.error?.code).toBe("DEPENDENCY_FAILED");
  });

  it("a retried answer (same messageId) answers nothing twice and gets the tree", async () => {
    const tree = {
      tasks: [{ name: "twice", params: { executorId: "approval" }, inputs: { prompt: "First of two?", required: 2 } }],
    };
    const asked = (await client.sendMessage(send([dataPart(tree)]))) as A2aTask;
    const answer = send([dataPart({ approved: true })], asked.id);
    const first = (await client.sendMessage(answer)) as A2aTask;
    // One of two answers: still asking.
    expect(first.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const again = (await client.sendMessage(answer)) as A2aTask;
    expect(again.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    expect((await engine.store.getTask(asked.id))?.wait?.answers).toHaveLength(1);
    await rpc(app, "tasks.cancel", { taskId: asked.id });
  });

  it("v0.3 clients see input-required and answer with message/send", async () => {
    const post = async (method: string, params: unknown) =>
      (
        await fetch(`${server.url}/a2a`, {
          method: "POST",
          headers: { "content-type": "application/json", "A2A-Version": "0.3" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
        })
      ).json() as Promise<any>;
    const message = (parts: unknown[], taskId?: string) => ({
      message: { kind: "message", messageId: crypto.randomUUID(), role: "user", parts, ...(taskId ? { taskId } : {}) },
    });
    const asked = await post("message/send", message([{ kind: "data", data: askTree("v03") }]));
    expect(asked.result.status.state).toBe("input-required");
    expect(asked.result.status.message.parts[0]).toMatchObject({
      kind: "text",
      text: "Which account should be refunded?",
    });
    const done = await post("message/send", message([{ kind: "data", data: { account: "BE-0042" } }], asked.result.id));
    expect(done.result.status.state).toBe("completed");
  });

  it("a plain-text request without a planner is refused, naming how to configure one", async () => {
    await expect(client.sendMessage(send([textPart("check the disk space on the data volume")]))).rejects.toThrow(
      /send a data part .*OPENAI_API_KEY/s,
    );
  });
});
