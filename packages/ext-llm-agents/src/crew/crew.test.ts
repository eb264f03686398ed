import { describe, expect, it } from "vitest";
import {
  failureOf,
  lastUserText,
  scriptedModel,
  systemText,
  testContext,
  textResult,
  toolCallResult,
  usage,
} from "../test-support.js";
import type { ModelFactory } from "../types.js";
import { createCrewExecutor } from "./crew.js";
import type { CrewInputs } from "./schema.js";

const agents: CrewInputs["agents"] = [
  {
    id: "researcher",
    role: "Researcher",
    goal: "Find facts",
    backstory: "A careful analyst.",
    model: "openai:researcher",
  },
  { id: "writer", role: "Writer", goal: "Write clearly", model: "openai:writer" },
];

/** Mock models by model id: what each crew member answers. */
function factory(models: Record<string, ReturnType<typeof scriptedModel>>): ModelFactory {
  return (spec) => models[spec.modelId];
}

describe("crew executor, sequential", () => {
  it("runs each task with its agent, passes context forward, and totals the usage", async () => {
    const researcher = scriptedModel([textResult("fact A; fact B", usage(100, 20))]);
    const writer = scriptedModel([textResult("A paragraph about A and B.", usage(50, 30))]);
    const crew = createCrewExecutor({ modelFactory: factory({ researcher, writer }) });
    const ctx = testContext();
    const result = await crew.execute(
      {
        agents,
        tasks: [
          { id: "research", description: "Research solar power", expectedOutput: "Two facts", agent: "researcher" },
          { id: "write", description: "Write a paragraph", expectedOutput: "One paragraph", agent: "Writer" },
        ],
      },
      ctx,
    );

    expect(result.output).toBe("A paragraph about A and B.");
    expect(result.tasks.map((t) => [t.id, t.agent, t.status])).toEqual([
      ["research", "researcher", "completed"],
      ["write", "writer", "completed"],
    ]);
    expect(result.steps.map((s) => [s.kind, s.agent, s.output])).toEqual([
      ["task", "researcher", "fact A; fact B"],
      ["task", "writer", "A paragraph about A and B."],
    ]);
    expect(result.usage).toEqual({ inputTokens: 150, outputTokens: 50, totalTokens: 200 });
    expect(result.usageByAgent.researcher).toEqual({ inputTokens: 100, outputTokens: 20, totalTokens: 120 });
    expect(result.cancelled).toBeUndefined();

    const researcherCall = researcher.doGenerateCalls[0];
    expect(researcherCall && systemText(researcherCall)).toContain("You are Researcher.");
    expect(researcherCall && systemText(researcherCall)).toContain("A careful analyst.");
    const writerCall = writer.doGenerateCalls[0];
    expect(writerCall && lastUserText(writerCall)).toContain("fact A; fact B");
    expect(writerCall && lastUserText(writerCall)).toContain("Expected output: One paragraph");
    expect(ctx.progress.at(-1)).toEqual({ progress: 1, message: "writer finished write" });
  });

  it("gives a task only the context it names", async () => {
    const a = scriptedModel([textResult("first")]);
    const b = scriptedModel([textResult("second")]);
    const c = scriptedModel([textResult("third")]);
    const crew = createCrewExecutor({ modelFactory: factory({ a, b, c }) });
    await crew.execute(
      {
        agents: [
          { id: "a", role: "A", goal: "g", model: "openai:a" },
          { id: "b", role: "B", goal: "g", model: "openai:b" },
          { id: "c", role: "C", goal: "g", model: "openai:c" },
        ],
        tasks: [
          { id: "t1", description: "one", expectedOutput: "x", agent: "a" },
          { id: "t2", description: "two", expectedOutput: "x", agent: "b", context: [] },
          { id: "t3", description: "three", expectedOutput: "x", agent: "c", context: ["t1"] },
        ],
      },
      testContext(),
    );
    const asked = (m: ReturnType<typeof scriptedModel>) => {
      const call = m.doGenerateCalls[0];
      return call ? lastUserText(call) : "";
    };
    expect(asked(b)).not.toContain("first");
    expect(asked(c)).toContain("first");
    expect(asked(c)).not.toContain("second");
  });

  it("rejects crews whose tasks name unknown agents or later tasks", async () => {
    const crew = createCrewExecutor({ languageModel: scriptedModel([textResult("x")]) });
    const failure = await failureOf(() =>
      crew.execute(
        {
          agents,
          tasks: [
            { id: "t1", description: "d", expectedOutput: "e", agent: "nobody", context: ["t2"] },
            { id: "t2", description: "d", expectedOutput: "e", agent: "writer" },
          ],
        },
        testContext(),
      ),
    );
    expect(failure.code).toBe("INVALID_INPUTS");
    expect(failure.message).toMatch(
      /inputs\.tasks\[0\]\.agent: unknown agent "nobody".*inputs\.tasks\[0\]\.context\[0\]: context "t2" must name an earlier task/,
    );
  });

  it("keeps the finished steps when cancelled between and within steps", async () => {
    const ctx = testContext();
    const researcher = scriptedModel([textResult("facts", usage(10, 10))]);
    // The writer's request is in flight when the user cancels; it ends only through the abort.
    const writer = scriptedModel([textResult("unused")]);
    writer.doGenerate = async ({ abortSignal }) => {
      ctx.controller.abort(new Error("cancelled by user"));
      return new Promise((_, reject) => {
        if (abortSignal?.aborted) reject(abortSignal.reason);
        abortSignal?.addEventListener("abort", () => reject(abortSignal.reason));
      });
    };
    const editor = scriptedModel([textResult("never")]);
    const crew = createCrewExecutor({ modelFactory: factory({ researcher, writer, editor }) });
    const result = await crew.execute(
      {
        agents: [...agents, { id: "editor", role: "Editor", goal: "Polish", model: "openai:editor" }],
        tasks: [
          { id: "research", description: "r", expectedOutput: "facts", agent: "researcher" },
          { id: "write", description: "w", expectedOutput: "text", agent: "writer" },
          { id: "edit", description: "e", expectedOutput: "text", agent: "editor" },
        ],
      },
      ctx,
    );
    expect(result.cancelled).toBe(true);
    expect(result.output).toBe("facts");
    expect(result.tasks.map((t) => t.status)).toEqual(["completed", "cancelled", "skipped"]);
    expect(result.steps.map((s) => [s.agent, s.cancelled ?? false])).toEqual([
      ["researcher", false],
      ["writer", true],
    ]);
    expect(result.usage.totalTokens).toBe(20);
    expect(editor.doGenerateCalls).toHaveLength(0);
  });
});

describe("crew executor, hierarchical", () => {
  it("lets the manager delegate, review and redo, and counts every model call's tokens", async () => {
    const manager = scriptedModel([
      toolCallResult(
        [{ tool: "delegate_work", input: { coworker: "researcher", task: "Find two facts about tides" } }],
        usage(40, 10),
      ),
      toolCallResult(
        [
          {
            tool: "delegate_work",
            input: { coworker: "writer", task: "Write a paragraph", context: "facts: moon, sun" },
          },
        ],
        usage(60, 10),
      ),
      toolCallResult(
        [
          {
            tool: "delegate_work",
            input: { coworker: "writer", task: "Shorter please", context: "previous draft too long" },
          },
        ],
        usage(80, 10),
      ),
      textResult("Tides follow the moon and the sun.", usage(90, 12)),
    ]);
    const researcher = scriptedModel([textResult("moon, sun", usage(20, 5))]);
    const writer = scriptedModel([
      textResult("A long paragraph about tides...", usage(25, 40)),
      textResult("Tides follow the moon and the sun.", usage(30, 10)),
    ]);
    const crew = createCrewExecutor({ modelFactory: factory({ manager, researcher, writer }) });
    const ctx = testContext();
    const result = await crew.execute(
      {
        process: "hierarchical",
        manager: { model: "openai:manager" },
        agents,
        tasks: [{ id: "explain", description: "Explain tides", expectedOutput: "One sentence" }],
      },
      ctx,
    );

    expect(result.process).toBe("hierarchical");
    expect(result.output).toBe("Tides follow the moon and the sun.");
    expect(result.steps.map((s) => [s.kind, s.agent, s.input ?? null])).toEqual([
      ["delegation", "researcher", "Find two facts about tides"],
      ["delegation", "writer", "Write a paragraph"],
      ["delegation", "writer", "Shorter please"],
      ["manager", "manager", null],
    ]);
    expect(result.steps[3]?.toolCalls).toBe(3);
    // Manager 270 in / 42 out, researcher 20/5, writer 55/50.
    expect(result.usage).toEqual({ inputTokens: 345, outputTokens: 97, totalTokens: 442 });
    expect(result.usageByAgent.manager?.totalTokens).toBe(312);
    expect(result.usageByAgent.writer?.totalTokens).toBe(105);

    const managerCall = manager.doGenerateCalls[0];
    expect(managerCall && lastUserText(managerCall)).toContain("researcher: Researcher");
    expect(managerCall?.tools?.map((t) => t.name)).toEqual(["delegate_work"]);
    const writerSecondCall = writer.doGenerateCalls[1];
    expect(writerSecondCall && lastUserText(writerSecondCall)).toContain("previous draft too long");
    expect(ctx.progress.map((p) => p.message)).toContain("writer did work for explain");
  });

  it("tells the manager when it names a coworker that does not exist", async () => {
    const manager = scriptedModel([
      toolCallResult([{ tool: "delegate_work", input: { coworker: "poet", task: "a poem" } }]),
      textResult("done myself"),
    ]);
    const crew = createCrewExecutor({ modelFactory: factory({ manager }) });
    const result = await crew.execute(
      {
        process: "hierarchical",
        manager: { model: "openai:manager" },
        agents,
        tasks: [{ description: "Write", expectedOutput: "text" }],
      },
      testContext(),
    );
    expect(result.output).toBe("done myself");
    expect(result.steps).toHaveLength(1);
    const secondCall = manager.doGenerateCalls[1];
    expect(JSON.stringify(secondCall?.prompt)).toContain('no coworker \\"poet\\"');
  });

  it("declares a demo result with every task completed", () => {
    const demo = createCrewExecutor().demoResult;
    if (typeof demo !== "function") throw new Error("demoResult must be a function");
    const result = demo({ agents, tasks: [{ description: "d", expectedOutput: "a summary", agent: "writer" }] });
    expect(result).toMatchObject({
      output: "[demo] a summary",
      demo: true,
      tasks: [{ status: "completed", agent: "writer" }],
    });
  });
});
