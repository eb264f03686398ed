/**
 * Test doubles shared by the tests of this package (not exported from the package entry):
 * mock model results built for `MockLanguageModelV3` and an executor context from core's testing kit.
 */
import { type JsonValue, type RegistryView, TaskFailure } from "@aipartnerupflow/core";
import { createExecutorContext, type TestContext } from "@aipartnerupflow/core/testing";
import { MockLanguageModelV3, simulateReadableStream } from "ai/test";

type GenerateResult = Awaited<ReturnType<MockLanguageModelV3["doGenerate"]>>;
type StreamResult = Awaited<ReturnType<MockLanguageModelV3["doStream"]>>;
type StreamPart = StreamResult["stream"] extends ReadableStream<infer P> ? P : never;
type Usage = GenerateResult["usage"];

export function usage(input: number, output: number): Usage {
  return {
    inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: output, text: output, reasoning: 0 },
  };
}

export function textResult(text: string, tokens: Usage = usage(10, 5)): GenerateResult {
  return {
    content: [{ type: "text", text }],
    finishReason: { unified: "stop", raw: "stop" },
    usage: tokens,
    warnings: [],
  };
}

export function toolCallResult(
  calls: Array<{ tool: string; input: JsonValue; id?: string }>,
  tokens: Usage = usage(10, 5),
): GenerateResult {
  return {
    content: calls.map((c, i) => ({
      type: "tool-call" as const,
      toolCallId: c.id ?? `call-${c.tool}-${i}`,
      toolName: c.tool,
      input: JSON.stringify(c.input),
    })),
    finishReason: { unified: "tool-calls", raw: "tool_calls" },
    usage: tokens,
    warnings: [],
  };
}

export function streamParts(deltas: readonly string[], tokens: Usage = usage(10, 5)): StreamPart[] {
  return [
    { type: "stream-start", warnings: [] },
    { type: "text-start", id: "t1" },
    ...deltas.map((delta) => ({ type: "text-delta" as const, id: "t1", delta })),
    { type: "text-end", id: "t1" },
    { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage: tokens },
  ];
}

export function streamResult(deltas: readonly string[], tokens: Usage = usage(10, 5)): StreamResult {
  return {
    stream: simulateReadableStream({
      chunks: streamParts(deltas, tokens),
      initialDelayInMs: null,
      chunkDelayInMs: null,
    }),
  };
}

/** A model whose consecutive `doGenerate` calls return these results (the last one repeats). */
export function scriptedModel(results: GenerateResult[], modelId = "mock"): MockLanguageModelV3 {
  let call = 0;
  return new MockLanguageModelV3({
    modelId,
    doGenerate: async () => {
      const result = results[Math.min(call, results.length - 1)];
      call++;
      if (!result) throw new Error("scriptedModel: no results");
      return result;
    },
  });
}

/** The text of the last user message a model call received (what the model was asked). */
export function lastUserText(call: MockLanguageModelV3["doGenerateCalls"][number]): string {
  const users = call.prompt.filter((m) => m.role === "user");
  const last = users.at(-1);
  if (!last || typeof last.content === "string") return "";
  return last.content.map((p) => (p.type === "text" ? p.text : "")).join("");
}

export function systemText(call: MockLanguageModelV3["doGenerateCalls"][number]): string {
  const system = call.prompt.find((m) => m.role === "system");
  return system && typeof system.content === "string" ? system.content : "";
}

export type { TestContext };

/** A hand-built executor context; progress calls are recorded. */
export function testContext(
  overrides: { registry?: RegistryView; secrets?: Record<string, string>; controller?: AbortController } = {},
): TestContext {
  return createExecutorContext({
    task: { id: "task-1", name: "test" },
    executionId: "exec-1",
    ...(overrides.registry ? { registry: overrides.registry } : {}),
    ...(overrides.secrets ? { secrets: overrides.secrets } : {}),
    ...(overrides.controller ? { controller: overrides.controller } : {}),
  });
}

/** Run an executor call that must fail, and return its `TaskFailure`. */
export async function failureOf(run: () => unknown): Promise<TaskFailure> {
  try {
    await run();
  } catch (err) {
    if (err instanceof TaskFailure) return err;
    throw err;
  }
  throw new Error("expected a TaskFailure, but the call succeeded");
}
