import { fileURLToPath } from "node:url";
import { Registry } from "@aipartnerupflow/core";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createAgentExecutor } from "./agent.js";
import { failureOf, scriptedModel, testContext, textResult, toolCallResult, usage } from "./test-support.js";

const MCP_SERVER = fileURLToPath(new URL("./test-fixtures/mcp-server.mjs", import.meta.url));

function weatherRegistry(): { registry: Registry; calls: Array<{ city: string }> } {
  const calls: Array<{ city: string }> = [];
  const registry = new Registry();
  registry.registerTool({
    id: "weather",
    description: "Current weather of a city",
    inputSchema: z.object({ city: z.string() }),
    execute: async (input: { city: string }) => {
      calls.push(input);
      return { city: input.city, celsius: 21 };
    },
  });
  registry.registerTool({
    id: "files.delete",
    description: "Deletes files",
    inputSchema: { type: "object", properties: { path: { type: "string" } } },
    execute: () => "deleted",
  });
  return { registry, calls };
}

describe("agent executor", () => {
  it("runs a tool loop over registry tools and sums the usage of every step", async () => {
    const { registry, calls } = weatherRegistry();
    const model = scriptedModel([
      toolCallResult([{ tool: "weather", input: { city: "Paris" } }], usage(20, 4)),
      textResult("It is 21 °C in Paris.", usage(30, 8)),
    ]);
    const agent = createAgentExecutor({ languageModel: model });
    const ctx = testContext({ registry });
    const result = await agent.execute({ prompt: "Weather in Paris?", tools: ["weather"] }, ctx);

    expect(calls).toEqual([{ city: "Paris" }]);
    expect(result.text).toBe("It is 21 °C in Paris.");
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]?.toolCalls).toEqual([
      { toolCallId: "call-weather-0", tool: "weather", input: { city: "Paris" } },
    ]);
    expect(result.steps[0]?.toolResults[0]?.output).toEqual({ city: "Paris", celsius: 21 });
    expect(result.usage).toEqual({ inputTokens: 50, outputTokens: 12, totalTokens: 62 });
    // Only the allow-listed tool was offered to the model.
    expect(model.doGenerateCalls[0]?.tools?.map((t) => t.name)).toEqual(["weather"]);
    expect(ctx.progress.map((p) => p.message)).toEqual(["step 1: called weather", "step 2: answered"]);
  });

  it("stops at maxSteps", async () => {
    const { registry, calls } = weatherRegistry();
    const model = scriptedModel([toolCallResult([{ tool: "weather", input: { city: "Oslo" } }])]);
    const agent = createAgentExecutor({ languageModel: model });
    const result = await agent.execute(
      { prompt: "loop forever", tools: ["weather"], maxSteps: 3 },
      testContext({ registry }),
    );
    expect(model.doGenerateCalls).toHaveLength(3);
    expect(result.steps).toHaveLength(3);
    expect(calls).toHaveLength(3);
    expect(result.finishReason).toBe("tool-calls");
  });

  it("sends a tool's error back to the model instead of failing", async () => {
    const registry = new Registry();
    registry.registerTool({
      id: "flaky",
      description: "Always fails",
      inputSchema: z.object({}),
      execute: () => {
        throw new Error("service unavailable");
      },
    });
    const model = scriptedModel([toolCallResult([{ tool: "flaky", input: {} }]), textResult("The service is down.")]);
    const result = await createAgentExecutor({ languageModel: model }).execute(
      { prompt: "try", tools: ["flaky"] },
      testContext({ registry }),
    );
    expect(result.steps[0]?.toolResults[0]).toMatchObject({ tool: "flaky", error: "service unavailable" });
    expect(result.text).toBe("The service is down.");
  });

  it("refuses an unknown registry tool", async () => {
    const agent = createAgentExecutor({ languageModel: scriptedModel([textResult("x")]) });
    const failure = await failureOf(() => agent.execute({ prompt: "x", tools: ["nope"] }, testContext()));
    expect(failure.code).toBe("UNKNOWN_TOOL");
    expect(failure.retryable).toBe(false);
  });

  it("calls tools of a real stdio MCP server, honouring the per-server allow-list", async () => {
    const model = scriptedModel([
      toolCallResult([
        { tool: "math__add", input: { a: 2, b: 40 } },
        { tool: "math__whoami", input: {} },
      ]),
      textResult("2 + 40 = 42"),
    ]);
    const agent = createAgentExecutor({
      languageModel: model,
      mcpServers: { math: { transport: "stdio", command: process.execPath, args: [MCP_SERVER] } },
    });
    // A key in this process's environment must not be handed to the MCP server process.
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = "sk-must-not-reach-mcp-servers";
    let result: Awaited<ReturnType<typeof agent.execute>>;
    try {
      result = await agent.execute(
        { prompt: "What is 2 + 40?", mcp: [{ server: "math", tools: ["add", "whoami"] }] },
        testContext(),
      );
    } finally {
      if (saved === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved;
    }
    expect(model.doGenerateCalls[0]?.tools?.map((t) => t.name).sort()).toEqual(["math__add", "math__whoami"]);
    const results = result.steps[0]?.toolResults ?? [];
    expect(results.find((r) => r.tool === "math__add")?.output).toBe("42");
    const whoami = JSON.parse(String(results.find((r) => r.tool === "math__whoami")?.output)) as {
      pid: number;
      sawOpenAiKey: boolean;
    };
    expect(whoami.pid).not.toBe(process.pid);
    expect(whoami.sawOpenAiKey).toBe(false);
    expect(result.text).toBe("2 + 40 = 42");
  });

  it("refuses an MCP tool outside the server's tool list, unknown servers and inline servers unless allowed", async () => {
    const mcpServers = { math: { transport: "stdio" as const, command: process.execPath, args: [MCP_SERVER] } };
    const agent = createAgentExecutor({ languageModel: scriptedModel([textResult("x")]), mcpServers });
    const missingTool = await failureOf(() =>
      agent.execute({ prompt: "x", mcp: [{ server: "math", tools: ["divide"] }] }, testContext()),
    );
    expect(missingTool.code).toBe("MCP_ERROR");
    expect(missingTool.message).toContain('"divide"');
    const unknownServer = await failureOf(() =>
      agent.execute({ prompt: "x", mcp: [{ server: "web" }] }, testContext()),
    );
    expect(unknownServer.message).toContain('unknown MCP server "web"');
    const inline = { name: "inline", transport: "stdio" as const, command: process.execPath, args: [MCP_SERVER] };
    const refused = await failureOf(() => agent.execute({ prompt: "x", mcp: [inline] }, testContext()));
    expect(refused.message).toContain("allowInlineMcpServers");

    const model = scriptedModel([toolCallResult([{ tool: "inline__shout", input: { text: "hi" } }]), textResult("HI")]);
    const allowed = createAgentExecutor({ languageModel: model, allowInlineMcpServers: true });
    const result = await allowed.execute({ prompt: "x", mcp: [{ ...inline, tools: ["shout"] }] }, testContext());
    expect(result.steps[0]?.toolResults[0]?.output).toBe("HI");
    expect(model.doGenerateCalls[0]?.tools?.map((t) => t.name)).toEqual(["inline__shout"]);
  });

  it("returns the finished steps when cancelled during a tool call", async () => {
    const registry = new Registry();
    const ctx = testContext({ registry });
    registry.registerTool({
      id: "slow",
      description: "Never finishes; the user cancels while it runs",
      inputSchema: z.object({}),
      execute: () => {
        ctx.controller.abort(new Error("cancel"));
        return new Promise(() => {});
      },
    });
    const model = scriptedModel([
      toolCallResult([{ tool: "slow", input: {} }], usage(5, 1)),
      textResult("never reached"),
    ]);
    const result = await createAgentExecutor({ languageModel: model }).execute({ prompt: "x", tools: ["slow"] }, ctx);
    expect(result.cancelled).toBe(true);
    expect(result.text).not.toBe("never reached");
    expect(model.doGenerateCalls).toHaveLength(1);
  });
});
