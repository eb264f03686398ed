import type { Logger } from "@aipartnerupflow/core";
import { MockLanguageModelV3, simulateReadableStream } from "ai/test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createAgentExecutor } from "./agent.js";
import { createLlmExecutor } from "./llm.js";
import { streamParts, testContext, textResult } from "./test-support.js";
import { routeSdkWarnings } from "./warnings.js";

function recordingLogger(): { log: Logger; warned: Array<{ obj: unknown; msg: string | undefined }> } {
  const warned: Array<{ obj: unknown; msg: string | undefined }> = [];
  const log: Logger = {
    debug: () => {},
    info: () => {},
    warn: (obj, msg) => void warned.push({ obj, msg }),
    error: () => {},
    child: () => log,
  };
  return { log, warned };
}

/** Everything the AI SDK could print on its own. */
function consoleSpies() {
  return [
    vi.spyOn(console, "log").mockImplementation(() => {}),
    vi.spyOn(console, "info").mockImplementation(() => {}),
    vi.spyOn(console, "warn").mockImplementation(() => {}),
    vi.spyOn(process.stdout, "write"),
  ];
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("AI SDK warnings", () => {
  it("go to the task's logger, never to the console (stdout stays clean for --json)", async () => {
    const [start, ...rest] = streamParts(["ok"]);
    expect(start?.type).toBe("stream-start");
    const model = new MockLanguageModelV3({
      doStream: async () => ({
        stream: simulateReadableStream({
          chunks: [{ type: "stream-start", warnings: [{ type: "unsupported", feature: "topK" }] }, ...rest],
          initialDelayInMs: null,
          chunkDelayInMs: null,
        }),
      }),
    });
    const { log, warned } = recordingLogger();
    const spies = consoleSpies();
    const llm = createLlmExecutor({ languageModel: model, progressIntervalMs: 0 });
    const result = await llm.execute({ prompt: "hi" }, { ...testContext(), log });
    expect(result.text).toBe("ok");
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    expect(warned).toHaveLength(1);
    expect(warned[0]?.msg).toBe('AI SDK warning (mock-provider / mock-model-id): "topK" is not supported');
    expect(warned[0]?.obj).toMatchObject({ warning: { type: "unsupported", feature: "topK" } });
  });

  it("each task's warnings reach its own logger, also from generate calls (agent)", async () => {
    const model = new MockLanguageModelV3({
      doGenerate: async () => ({
        ...textResult("done"),
        warnings: [{ type: "other", message: "seed ignored" }],
      }),
    });
    const a = recordingLogger();
    const b = recordingLogger();
    const spies = consoleSpies();
    const agent = createAgentExecutor({ languageModel: model });
    await Promise.all([
      agent.execute({ prompt: "one" }, { ...testContext(), log: a.log }),
      agent.execute({ prompt: "two" }, { ...testContext(), log: b.log }),
    ]);
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
    expect(a.warned.map((w) => w.msg)).toEqual(["AI SDK warning (mock-provider / mock-model-id): seed ignored"]);
    expect(b.warned.map((w) => w.msg)).toEqual(["AI SDK warning (mock-provider / mock-model-id): seed ignored"]);
  });

  it("outside any task they go to stderr", () => {
    const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    routeSdkWarnings();
    const route = (globalThis as { AI_SDK_LOG_WARNINGS?: unknown }).AI_SDK_LOG_WARNINGS;
    expect(typeof route).toBe("function");
    (route as (o: unknown) => void)({
      warnings: [{ type: "compatibility", feature: "specificationVersion", details: "v2" }],
      provider: "p",
      model: "m",
    });
    expect(write).toHaveBeenCalledWith(
      'AI SDK warning (p / m): "specificationVersion" is used in a compatibility mode: v2\n',
    );
  });
});
