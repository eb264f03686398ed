import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerHandle } from "../server.js";
import { listen, rpc, testApp } from "../testing/fixtures.js";

type ToolReply = { isError?: boolean; content: Array<{ type: string; text?: string }>; structuredContent?: any };

let server: ServerHandle;
const { app, engine } = testApp();

engine.registry.registerExecutor({
  id: "ask",
  execute: (_inputs, ctx) =>
    ctx.resumeInput !== undefined
      ? { got: ctx.resumeInput }
      : ctx.waitFor({
          prompt: "Which account?",
          schema: { type: "object", properties: { account: { type: "string" } }, required: ["account"] },
        }),
});
engine.registry.registerExecutor({
  id: "ask_nested",
  execute: (_inputs, ctx) =>
    ctx.resumeInput !== undefined
      ? { got: ctx.resumeInput }
      : ctx.waitFor({
          prompt: "Which lines?",
          schema: { type: "object", properties: { lines: { type: "array", items: { type: "object" } } } },
        }),
});

beforeAll(async () => {
  server = await listen(app);
});
afterAll(async () => {
  await engine.stop({ graceMs: 0 });
  await server.close();
});

/** An MCP client over Streamable HTTP; with `answer`, it declares elicitation and answers with it. */
async function connect(
  answer?: (request: { message: string; requestedSchema: any }) => Record<string, unknown> | null,
) {
  const asked: Array<{ message: string; requestedSchema: any }> = [];
  const client = new Client({ name: "test", version: "1.0.0" }, answer ? { capabilities: { elicitation: {} } } : {});
  if (answer) {
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      const params = request.params as { message: string; requestedSchema: any };
      asked.push(params);
      const content = answer(params);
      return content ? { action: "accept", content: content as never } : { action: "cancel" };
    });
  }
  await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
  return { client, asked };
}

async function callTool(client: Client, name: string, args: Record<string, unknown>): Promise<ToolReply> {
  return (await client.callTool({ name, arguments: args }, undefined, { timeout: 30_000 })) as ToolReply;
}

async function created(tasks: unknown[]): Promise<string> {
  return (await rpc(app, "tasks.create", { tasks })).body.result.rootId as string;
}

describe("MCP: waiting tasks", () => {
  it("execute_task asks a client with elicitation and the tree completes with its answer", async () => {
    const { client, asked } = await connect(() => ({ account: "DE-42" }));
    const rootId = await created([{ name: "q", params: { executorId: "ask" } }]);
    const reply = await callTool(client, "execute_task", { taskId: rootId });
    expect(reply.isError).toBeFalsy();
    expect(reply.structuredContent.status).toBe("completed");
    expect(asked).toHaveLength(1);
    expect(asked[0]?.message).toBe("Which account?");
    expect(asked[0]?.requestedSchema).toMatchObject({
      type: "object",
      properties: { account: { type: "string" } },
      required: ["account"],
    });
    expect((await engine.store.getTask(rootId))?.result).toEqual({ got: { account: "DE-42" } });
    await client.close();
  });

  it("an approval is asked as approved + comment; the tree runs on once approved", async () => {
    const { client, asked } = await connect(() => ({ approved: true, comment: "fine" }));
    const rootId = await created([
      { name: "gate", params: { executorId: "approval" }, inputs: { prompt: "Ship it?" } },
      {
        name: "ship",
        parentId: "gate",
        params: { executorId: "echo" },
        inputs: { shipped: true },
        dependencies: ["gate"],
      },
    ]);
    const reply = await callTool(client, "execute_task", { taskId: rootId });
    expect(reply.structuredContent.status).toBe("completed");
    expect(Object.keys(asked[0]?.requestedSchema.properties ?? {}).sort()).toEqual(["approved", "comment"]);
    expect((await engine.store.getTask(rootId))?.result).toMatchObject({ approved: true });
    await client.close();
  });

  it("without elicitation, execute_task answers waiting with the question; resume_task finishes the tree", async () => {
    const { client } = await connect();
    const rootId = await created([{ name: "q2", params: { executorId: "ask" } }]);
    const reply = await callTool(client, "execute_task", { taskId: rootId });
    expect(reply.structuredContent.status).toBe("waiting");
    const [question] = reply.structuredContent.waiting as Array<{ taskId: string; prompt: string; schema: any }>;
    expect(question?.taskId).toBe(rootId);
    expect(question?.prompt).toBe("Which account?");

    // The task resource says what it waits for.
    const resource = await client.readResource({ uri: `task://${rootId}` });
    const task = JSON.parse((resource.contents[0] as { text: string }).text);
    expect(task.status).toBe("waiting");
    expect(task.waiting).toMatchObject({ reason: "input", prompt: "Which account?" });

    const resumed = await callTool(client, "resume_task", { taskId: rootId, input: { account: "AT-7" } });
    expect(resumed.isError).toBeFalsy();
    await expect.poll(async () => (await engine.store.getTask(rootId))?.status, { timeout: 20_000 }).toBe("completed");
    // A second answer is refused as an invalid transition.
    const again = await callTool(client, "resume_task", { taskId: rootId, input: { account: "AT-8" } });
    expect(again.isError).toBe(true);
    expect(JSON.parse(again.content[0]?.text ?? "{}").error.code).toBe(-32006);
    await client.close();
  });

  it("a schema no form can hold is not elicited: the tool answers waiting", async () => {
    const { client, asked } = await connect(() => ({}));
    const rootId = await created([{ name: "q3", params: { executorId: "ask_nested" } }]);
    const reply = await callTool(client, "execute_task", { taskId: rootId });
    expect(reply.structuredContent.status).toBe("waiting");
    expect(asked).toHaveLength(0);
    await rpc(app, "tasks.cancel", { taskId: rootId });
    await client.close();
  });

  it("a cancelled elicitation leaves the task waiting", async () => {
    const { client, asked } = await connect(() => null);
    const rootId = await created([{ name: "q4", params: { executorId: "ask" } }]);
    const reply = await callTool(client, "execute_task", { taskId: rootId });
    expect(asked).toHaveLength(1);
    expect(reply.structuredContent.status).toBe("waiting");
    expect((await engine.store.getTask(rootId))?.status).toBe("waiting");
    await rpc(app, "tasks.cancel", { taskId: rootId });
    await client.close();
  });
});
