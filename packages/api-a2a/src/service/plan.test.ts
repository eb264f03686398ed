import { Role, type Task as A2aTask, TaskState } from "@a2a-js/sdk";
import { ClientFactory } from "@a2a-js/sdk/client";
import { createGenerateTreeExecutor } from "@aipartnerupflow/ext-llm-agents";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { MockLanguageModelV3 } from "ai/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { textPart } from "../a2a/mapping.js";
import type { ServerHandle } from "../server.js";
import { listen, rpc, testApp } from "../testing/fixtures.js";
import { gatePlan, PLAN_APPROVAL_NAME } from "./plan.js";

/** What the mock planner answers: check the disk, then report. */
const PLANNED = {
  tasks: [
    { name: "report", params: { executorId: "aggregate_results" }, dependencies: ["disk"] },
    { name: "disk", parentId: "report", params: { executorId: "echo" }, inputs: { volume: "/data", used: "42%" } },
  ],
};

function plannerModel(): MockLanguageModelV3 {
  return new MockLanguageModelV3({
    doGenerate: async () => ({
      content: [{ type: "text", text: JSON.stringify(PLANNED) }],
      finishReason: { unified: "stop", raw: "stop" },
      usage: {
        inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
        outputTokens: { total: 5, text: 5, reasoning: 0 },
      },
      warnings: [],
    }),
  });
}

describe("gatePlan", () => {
  it("puts every task without dependencies behind one approval, a child of the plan's root", () => {
    const gated = gatePlan(
      [
        { name: "r", params: { executorId: "aggregate_results" }, dependencies: ["a", "b"] },
        { name: "a", parentId: "r", params: { executorId: "echo" } },
        { name: "b", parentId: "r", params: { executorId: "echo" }, dependencies: ["a"] },
        { name: PLAN_APPROVAL_NAME, parentId: "r", params: { executorId: "echo" } },
      ],
      "do a and b",
    );
    const approval = gated.at(-1);
    expect(approval?.name).toBe(`${PLAN_APPROVAL_NAME}-2`);
    expect(approval?.parentId).toBe("r");
    expect(approval?.params).toEqual({ executorId: "approval" });
    expect(String(approval?.inputs?.prompt)).toContain('Run this plan for "do a and b"?');
    expect(String(approval?.inputs?.prompt)).toContain("- b (echo) after a");
    expect(gated.find((t) => t.name === "a")?.dependencies).toEqual([approval?.name]);
    expect(gated.find((t) => t.name === "b")?.dependencies).toEqual(["a"]);
    expect(gated.find((t) => t.name === PLAN_APPROVAL_NAME)?.dependencies).toEqual([approval?.name]);
  });
});

describe("plan, approve, run", () => {
  const { app, engine } = testApp();
  engine.registry.registerExecutor(createGenerateTreeExecutor({ languageModel: plannerModel() }));
  let server: ServerHandle;
  beforeAll(async () => {
    server = await listen(app);
  });
  afterAll(async () => {
    await engine.stop({ graceMs: 0 });
    await server.close();
  });

  it("A2A: a plain-text request shows its plan as input-required and runs once the reply approves", async () => {
    const client = await new ClientFactory().createFromUrl(server.url);
    const message = (text: string, taskId = "") => ({
      tenant: "",
      message: {
        messageId: crypto.randomUUID(),
        contextId: "",
        taskId,
        role: Role.ROLE_USER,
        parts: [textPart(text)],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      },
      configuration: undefined,
      metadata: undefined,
    });
    const asked = (await client.sendMessage(message("check the disk space on the data volume and report"))) as A2aTask;
    expect(asked.status?.state).toBe(TaskState.TASK_STATE_INPUT_REQUIRED);
    const prompt = asked.status?.message?.parts[0]?.content?.value as string;
    expect(prompt).toContain('Run this plan for "check the disk space on the data volume and report"?');
    expect(prompt).toContain("- disk (echo)");
    const question = asked.status?.message?.parts[1]?.content?.value as { plan: { tasks: Array<{ name: string }> } };
    expect(question.plan.tasks.map((t) => t.name)).toEqual(["report", "disk"]);
    // Nothing of the plan ran before the approval.
    const tree = (await engine.store.listTasks({ rootId: asked.id })).tasks;
    expect(tree.find((t) => t.name === "disk")?.status).toBe("pending");

    const done = (await client.sendMessage(message("yes", asked.id))) as A2aTask;
    expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const root = await engine.store.getTask(asked.id);
    expect(root?.name).toBe("report");
    expect(JSON.stringify(root?.result)).toContain("42%");
  });

  it("MCP: plan_and_run asks for approval by elicitation and the tree completes", async () => {
    const asked: string[] = [];
    const client = new Client({ name: "test", version: "1.0.0" }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push((request.params as { message: string }).message);
      return { action: "accept", content: { approved: true } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
    const reply = (await client.callTool(
      { name: "plan_and_run", arguments: { requirement: "check the disk space on the data volume and report" } },
      undefined,
      { timeout: 30_000 },
    )) as { isError?: boolean; structuredContent?: any };
    expect(reply.isError).toBeFalsy();
    expect(reply.structuredContent.status).toBe("completed");
    expect(reply.structuredContent.plan.map((t: { name: string }) => t.name)).toContain("disk");
    expect(asked[0]).toContain("Run this plan");
    await client.close();
  });

  it("JSON-RPC: tasks.plan stores the tree waiting at its approval; tasks.resume runs it", async () => {
    const res = await rpc(app, "tasks.plan", { requirement: "check the disk" });
    expect(res.body.error).toBeUndefined();
    const { rootId, approvalTaskId } = res.body.result;
    await expect
      .poll(async () => (await engine.store.getTask(approvalTaskId))?.status, { timeout: 20_000 })
      .toBe("waiting");
    await rpc(app, "tasks.resume", { taskId: approvalTaskId, input: { approved: true } });
    await expect.poll(async () => (await engine.store.getTask(rootId))?.status, { timeout: 20_000 }).toBe("completed");
  });
});

describe("plan without a provider", () => {
  it("refuses with how to configure one, from every surface", async () => {
    // The real planner with no key anywhere: it fails LLM_NOT_CONFIGURED.
    const { app, engine } = testApp();
    engine.registry.registerExecutor(createGenerateTreeExecutor({ env: {} }));
    const res = await rpc(app, "tasks.plan", { requirement: "check the disk" });
    expect(res.body.error?.code).toBe(-32602);
    expect(res.body.error?.message).toMatch(/no LLM provider: .*OPENAI_API_KEY/);
    expect(res.body.error?.message).toContain("APFLOW_LLM_BASE_URL");
    // No planner at all.
    const bare = testApp();
    const none = await rpc(bare.app, "tasks.plan", { requirement: "check the disk" });
    expect(none.body.error?.message).toMatch(/generate_tree executor is not loaded.*ext-llm-agents/);
    await engine.stop({ graceMs: 0 });
    await bare.engine.stop({ graceMs: 0 });
  });
});
