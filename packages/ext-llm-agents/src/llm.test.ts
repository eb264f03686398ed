import { APICallError } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { createLlmExecutor } from "./llm.js";
import { failureOf, streamParts, streamResult, testContext, usage } from "./test-support.js";

describe("llm executor", () => {
  it("returns the text and usage, streaming every delta as a progress message", async () => {
    const model = new MockLanguageModelV3({ doStream: streamResult(["Hel", "lo ", "world"], usage(7, 3)) });
    const llm = createLlmExecutor({ languageModel: model, progressIntervalMs: 0 });
    const ctx = testContext();
    const result = await llm.execute({ prompt: "Say hello", system: "Be brief", model: "openai:gpt-x" }, ctx);
    expect(result).toMatchObject({ text: "Hello world", model: "openai:gpt-x", finishReason: "stop" });
    expect(result.usage).toEqual({ inputTokens: 7, outputTokens: 3, totalTokens: 10 });
    expect(ctx.progress.map((p) => p.message).filter(Boolean)).toEqual(["Hel", "lo ", "world"]);
    const progresses = ctx.progress.map((p) => p.progress ?? 0);
    expect(progresses).toEqual([...progresses].sort((a, b) => a - b));
    expect(Math.max(...progresses)).toBeLessThan(1);
    const call = model.doStreamCalls[0];
    expect(call?.prompt[0]).toEqual({ role: "system", content: "Be brief" });
  });

  it("rate-limits progress but never loses text: the messages concatenate to the answer", async () => {
    const deltas = Array.from({ length: 200 }, (_, i) => `w${i} `);
    // An interval longer than the test: the first delta goes out at once, the rest at the end.
    const llm = createLlmExecutor({
      languageModel: new MockLanguageModelV3({ doStream: streamResult(deltas) }),
      progressIntervalMs: 3_600_000,
    });
    const ctx = testContext();
    const result = await llm.execute({ prompt: "many words" }, ctx);
    expect(ctx.progress.map((p) => p.message ?? "").join("")).toBe(result.text);
    expect(ctx.progress.map((p) => p.message)).toEqual(["w0 ", deltas.slice(1).join("")]);
  });

  it("accepts messages instead of a prompt", async () => {
    const model = new MockLanguageModelV3({ doStream: streamResult(["ok"]) });
    const llm = createLlmExecutor({ languageModel: model });
    await llm.execute(
      {
        messages: [
          { role: "user", content: "hi" },
          { role: "assistant", content: "hello" },
          { role: "user", content: "again" },
        ],
      },
      testContext(),
    );
    expect(model.doStreamCalls[0]?.prompt.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
  });

  it("returns a structured object validated against a JSON Schema", async () => {
    const model = new MockLanguageModelV3({ doStream: streamResult(['{"city":', '"Paris","population":2100000}']) });
    const llm = createLlmExecutor({ languageModel: model });
    const schema = {
      type: "object",
      properties: { city: { type: "string" }, population: { type: "integer" } },
      required: ["city", "population"],
    };
    const result = await llm.execute({ prompt: "Largest city of France?", schema }, testContext());
    expect(result.object).toEqual({ city: "Paris", population: 2100000 });
    expect(model.doStreamCalls[0]?.responseFormat).toMatchObject({
      type: "json",
      schema: { required: ["city", "population"] },
    });
  });

  it("fails with INVALID_OUTPUT listing the issues when the object does not match the schema", async () => {
    const model = new MockLanguageModelV3({ doStream: streamResult(['{"city": 42}']) });
    const llm = createLlmExecutor({ languageModel: model });
    const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
    const error = await failureOf(() => llm.execute({ prompt: "x", schema }, testContext()));
    expect(error.code).toBe("INVALID_OUTPUT");
    expect(error.details).toMatchObject({ text: '{"city": 42}' });
    expect(JSON.stringify(error.details)).toContain("city");
  });

  it("validates against a zod schema given programmatically", async () => {
    const model = new MockLanguageModelV3({ doStream: streamResult(['{"tags":["a","b"]}']) });
    const llm = createLlmExecutor({ languageModel: model });
    const result = await llm.execute(
      { prompt: "tags", schema: z.object({ tags: z.array(z.string()).min(2) }) },
      testContext(),
    );
    expect(result.object).toEqual({ tags: ["a", "b"] });
    const bad = new MockLanguageModelV3({ doStream: streamResult(['{"tags":["a"]}']) });
    await expect(
      createLlmExecutor({ languageModel: bad }).execute(
        { prompt: "tags", schema: z.object({ tags: z.array(z.string()).min(2) }) },
        testContext(),
      ),
    ).rejects.toMatchObject({ code: "INVALID_OUTPUT" });
  });

  it("aborts the request on cancel mid-stream and returns the text received so far", async () => {
    const ctx = testContext();
    let requestSignal: AbortSignal | undefined;
    const model = new MockLanguageModelV3({
      doStream: async ({ abortSignal }) => {
        requestSignal = abortSignal;
        const parts = streamParts(["The answer ", "is "]).slice(0, 4);
        return {
          stream: new ReadableStream({
            start(controller) {
              for (const part of parts) controller.enqueue(part);
              // The provider would keep streaming; it only stops when the request is aborted.
              abortSignal?.addEventListener("abort", () => controller.error(abortSignal.reason));
            },
          }),
        };
      },
    });
    const llm = createLlmExecutor({ languageModel: model, progressIntervalMs: 0 });
    const originalReport = ctx.reportProgress;
    ctx.reportProgress = async (p, message) => {
      await originalReport(p, message);
      if (message === "is ") ctx.controller.abort(new Error("cancelled by user"));
    };
    const result = await llm.execute({ prompt: "long answer" }, ctx);
    expect(requestSignal?.aborted).toBe(true);
    expect(result).toMatchObject({ text: "The answer is ", cancelled: true, finishReason: "cancelled" });
  });

  it("scrubs the API key from provider errors", async () => {
    const key = "sk-live-SECRET-1234567890";
    const model = new MockLanguageModelV3({
      doStream: async () => {
        throw new APICallError({
          message: `Incorrect API key provided: ${key}`,
          url: "https://llm.invalid/v1/chat",
          requestBodyValues: {},
          statusCode: 401,
          isRetryable: false,
        });
      },
    });
    const llm = createLlmExecutor({ modelFactory: () => model });
    const error = await failureOf(() =>
      llm.execute({ prompt: "x", model: "openai:gpt" }, testContext({ secrets: { "llm:openai": key } })),
    );
    expect(error.code).toBe("LLM_API_ERROR");
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("[redacted]");
    expect(JSON.stringify({ m: error.message, d: error.details })).not.toContain(key);
  });

  it("declares a demo result shaped like the real one, structured when a schema is given", () => {
    const llm = createLlmExecutor();
    const demo = llm.demoResult;
    expect(typeof demo).toBe("function");
    if (typeof demo !== "function") return;
    expect(demo({ prompt: "hi" })).toMatchObject({ text: expect.stringContaining("hi"), demo: true });
    const structured = demo({
      prompt: "x",
      schema: {
        type: "object",
        properties: { n: { type: "integer", minimum: 3 }, s: { type: "string" } },
        required: ["n", "s"],
      },
    });
    expect(structured.object).toEqual({ n: 3, s: "demo" });
  });
});
