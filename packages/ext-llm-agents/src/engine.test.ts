/**
 * The executors inside real trees: core's Engine with a MemoryStore, the plugin registered the
 * way an application does it, and mock models injected through the plugin options.
 */
import { readFileSync } from "node:fs";
import { Engine, MemoryStore, Registry, type Task, type TaskInput, type TaskStore } from "@aipartnerupflow/core";
import { APICallError } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { afterEach, describe, expect, it } from "vitest";
import type { CrewResult } from "./crew/crew.js";
import type { LlmResult } from "./llm.js";
import { llmAgentsPlugin } from "./plugin.js";
import { scriptedModel, streamParts, streamResult, textResult, usage } from "./test-support.js";
import type { LlmAgentsOptions, ModelSpec } from "./types.js";

const EXAMPLE = JSON.parse(
  readFileSync(new URL("../../../examples/llm-crew.json", import.meta.url), "utf8"),
) as TaskInput[];

const engines: Engine[] = [];
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop()));
});

async function setup(options: LlmAgentsOptions): Promise<{ engine: Engine; store: MemoryStore }> {
  const registry = new Registry();
  await registry.use(llmAgentsPlugin, { env: {}, ...options });
  const store = new MemoryStore();
  const engine = new Engine({ store, registry });
  engines.push(engine);
  return { engine, store };
}

function byName(tasks: Task[], name: string): Task {
  const task = tasks.find((t) => t.name === name);
  if (!task) throw new Error(`no task ${name}`);
  return task;
}

/** Everything the store holds, as one string: tasks, attempts, executions and the event log. */
async function dumpStore(store: TaskStore): Promise<string> {
  const { tasks } = await store.listTasks({ limit: 10_000 });
  const attempts = await Promise.all(tasks.map((t) => store.getAttempts(t.id)));
  const executions = await store.listExecutions({ limit: 10_000 });
  const events = await store.readEvents({ limit: 100_000 });
  return JSON.stringify({ tasks, attempts, executions, events });
}

describe("in a tree run by the engine", () => {
  it("runs the example crew tree in demo mode without any provider", async () => {
    const { engine } = await setup({});
    const outcome = await engine.runTree(EXAMPLE, { demo: true });
    expect(outcome.status).toBe("completed");
    expect(byName(outcome.tasks, "research-crew").result).toMatchObject({
      demo: true,
      process: "sequential",
      output: "[demo] Three short paragraphs ending with a recommendation",
      tasks: [
        { id: "research", agent: "researcher" },
        { id: "brief", agent: "writer" },
      ],
    });
    // core's aggregate_results answers its own static demo result in demo mode.
    expect(byName(outcome.tasks, "report").status).toBe("completed");
  });

  it("feeds a crew's output to the aggregate root, and the API key appears nowhere in the store", async () => {
    const KEY = "sk-test-0123456789-SECRET-KEY";
    const seenKeys: Array<string | undefined> = [];
    const crewModel = scriptedModel([
      textResult("- fact one\n- fact two", usage(120, 30)),
      textResult("Buy the battery.", usage(200, 40)),
    ]);
    // A provider that echoes the key in its error message (some do, for a malformed key).
    const leaky = new MockLanguageModelV3({
      doStream: async () => {
        throw new APICallError({
          message: `Invalid API key: ${KEY}`,
          url: "https://llm.invalid/v1",
          requestBodyValues: {},
          statusCode: 401,
          isRetryable: false,
        });
      },
    });
    const streaming = new MockLanguageModelV3({ doStream: streamResult(["stream", "ed ", "text"]) });
    const models: Record<string, MockLanguageModelV3> = { "llama3.2": crewModel, leaky, streaming };
    const { engine, store } = await setup({
      progressIntervalMs: 0,
      modelFactory: (spec: ModelSpec) => {
        seenKeys.push(spec.apiKey);
        return models[spec.modelId];
      },
    });

    const crewRun = await engine.runTree(EXAMPLE, { secrets: { "llm:compatible": KEY } });
    expect(crewRun.status).toBe("completed");
    const crew = byName(crewRun.tasks, "research-crew").result as unknown as CrewResult;
    expect(crew.output).toBe("Buy the battery.");
    expect(crew.usage).toEqual({ inputTokens: 320, outputTokens: 70, totalTokens: 390 });
    expect(byName(crewRun.tasks, "report").result).toMatchObject({
      count: 1,
      results: { "research-crew": { output: "Buy the battery.", process: "sequential" } },
    });
    const writerPrompt = JSON.stringify(crewModel.doGenerateCalls[1]?.prompt);
    expect(writerPrompt).toContain("fact two");

    const failing = await engine.runTree(
      [
        {
          name: "root",
          params: { executorId: "aggregate_results" },
          dependencies: [
            { id: "stream", required: false },
            { id: "leak", required: false },
          ],
        },
        {
          name: "stream",
          parentId: "root",
          params: { executorId: "llm" },
          inputs: { model: "openai:streaming", prompt: "p" },
        },
        {
          name: "leak",
          parentId: "root",
          params: { executorId: "llm" },
          inputs: { model: "openai:leaky", prompt: "p" },
        },
      ],
      { secrets: { "llm:openai": KEY } },
    );
    const leak = byName(failing.tasks, "leak");
    expect(leak.status).toBe("failed");
    expect(leak.error?.code).toBe("LLM_API_ERROR");
    expect(leak.error?.message).toContain("[redacted]");
    expect(byName(failing.tasks, "stream").result).toMatchObject({ text: "streamed text" });

    // The key did reach the model factory (it was used) ...
    expect(seenKeys).toContain(KEY);
    // ... and is nowhere in what was stored: task rows, inputs, results, errors, attempts, events.
    const dump = await dumpStore(store);
    expect(dump).toContain("streamed text");
    expect(dump).toContain('"message":"ed "');
    expect(dump).not.toContain(KEY);
  });

  it("keeps the partial text of an llm task cancelled mid-stream", async () => {
    let requestSignal: AbortSignal | undefined;
    const model = new MockLanguageModelV3({
      doStream: async ({ abortSignal }) => {
        requestSignal = abortSignal;
        const parts = streamParts(["Once upon ", "a time"]).slice(0, 4);
        return {
          stream: new ReadableStream({
            start(controller) {
              for (const part of parts) controller.enqueue(part);
              abortSignal?.addEventListener("abort", () => controller.error(abortSignal.reason));
            },
          }),
        };
      },
    });
    const { engine } = await setup({ languageModel: model, progressIntervalMs: 0 });
    const [task] = await engine.createTree([
      { name: "story", params: { executorId: "llm" }, inputs: { prompt: "Tell a story" } },
    ]);
    if (!task) throw new Error("no task");
    const handle = await engine.execute(task.id);
    for await (const event of handle.events()) {
      if (event.type === "task.progress" && event.message === "a time") await engine.cancel(task.id);
    }
    const outcome = await handle.done;
    expect(outcome.status).toBe("cancelled");
    const story = byName(outcome.tasks, "story");
    expect(story.status).toBe("cancelled");
    expect(story.result as unknown as LlmResult).toMatchObject({ text: "Once upon a time", cancelled: true });
    expect(requestSignal?.aborted).toBe(true);
  });

  it("keeps a crew's finished steps when it is cancelled in the middle", async () => {
    let engineRef: Engine | undefined;
    let crewTaskId = "";
    const researcher = scriptedModel([textResult("facts", usage(10, 5))]);
    const writer = new MockLanguageModelV3({
      doGenerate: async ({ abortSignal }) => {
        await engineRef?.cancel(crewTaskId);
        return new Promise((_, reject) => {
          if (abortSignal?.aborted) reject(abortSignal.reason);
          abortSignal?.addEventListener("abort", () => reject(abortSignal.reason));
        });
      },
    });
    const models: Record<string, MockLanguageModelV3> = { researcher, writer };
    const { engine } = await setup({ modelFactory: (spec) => models[spec.modelId] });
    engineRef = engine;
    const tree = await engine.createTree([
      {
        name: "crew",
        params: { executorId: "crew" },
        inputs: {
          agents: [
            { id: "researcher", role: "Researcher", goal: "g", model: "openai:researcher" },
            { id: "writer", role: "Writer", goal: "g", model: "openai:writer" },
          ],
          tasks: [
            { id: "research", description: "r", expectedOutput: "facts", agent: "researcher" },
            { id: "write", description: "w", expectedOutput: "text", agent: "writer" },
          ],
        },
      },
    ]);
    crewTaskId = (tree[0] as Task).id;
    const outcome = await (await engine.execute(crewTaskId)).done;
    const crew = byName(outcome.tasks, "crew");
    expect(crew.status).toBe("cancelled");
    const result = crew.result as unknown as CrewResult;
    expect(result.cancelled).toBe(true);
    expect(result.tasks.map((t) => [t.id, t.status, t.output])).toEqual([
      ["research", "completed", "facts"],
      ["write", "cancelled", null],
    ]);
    expect(result.usage.totalTokens).toBe(15);
  });
});
