/**
 * Live test against the real OpenAI API. It runs only when OPENAI_API_KEY is set (skipped
 * otherwise) and uses a small model; override it with APFLOW_LIVE_MODEL.
 */
import { Registry } from "@aipartnerupflow/core";
import { describe, expect, it } from "vitest";
import { createAgentExecutor } from "./agent.js";
import { createLlmExecutor } from "./llm.js";
import { testContext } from "./test-support.js";
import { z } from "zod";

const key = process.env.OPENAI_API_KEY;
const model = process.env.APFLOW_LIVE_MODEL ?? "openai:gpt-4o-mini";

describe.skipIf(!key)("LIVE OpenAI (runs only with OPENAI_API_KEY)", () => {
  it("streams a short answer", { timeout: 60_000 }, async () => {
    const ctx = testContext();
    const result = await createLlmExecutor({ progressIntervalMs: 0 }).execute(
      { model, prompt: "Reply with the single word: pong" },
      ctx,
    );
    expect(result.text.toLowerCase()).toContain("pong");
    expect(result.usage.totalTokens).toBeGreaterThan(0);
    expect(ctx.progress.length).toBeGreaterThan(0);
  });

  it("returns a structured object", { timeout: 60_000 }, async () => {
    const result = await createLlmExecutor().execute(
      {
        model,
        prompt: "What is the capital of France?",
        schema: { type: "object", properties: { capital: { type: "string" } }, required: ["capital"] },
      },
      testContext(),
    );
    expect(result.object).toMatchObject({ capital: expect.stringMatching(/paris/i) });
  });

  it("calls a registry tool", { timeout: 60_000 }, async () => {
    const registry = new Registry();
    registry.registerTool({
      id: "secret_number",
      description: "Returns the secret number",
      inputSchema: z.object({}),
      execute: () => 7331,
    });
    const result = await createAgentExecutor().execute(
      {
        model,
        prompt: "Use the secret_number tool and reply with the number only.",
        tools: ["secret_number"],
        maxSteps: 3,
      },
      testContext({ registry }),
    );
    expect(result.text).toContain("7331");
    expect(result.steps[0]?.toolCalls[0]?.tool).toBe("secret_number");
  });
});
