import { Registry, registerBuiltins, validateTasks } from "@aipartnerupflow/core";
import { describe, expect, it } from "vitest";
import { createGenerateTreeExecutor } from "./generate-tree.js";
import { registerLlmAgentExecutors } from "./plugin.js";
import { failureOf, scriptedModel, systemText, testContext, textResult, usage } from "./test-support.js";

function registry(): Registry {
  return registerLlmAgentExecutors(registerBuiltins(new Registry()));
}

const validTree = {
  tasks: [
    { name: "report", params: { executorId: "aggregate_results" }, dependencies: ["summary-a", "summary-b"] },
    { name: "summary-a", parentId: "report", params: { executorId: "llm" }, inputs: { prompt: "Summarise A" } },
    { name: "summary-b", parentId: "report", params: { executorId: "llm" }, inputs: { prompt: "Summarise B" } },
  ],
};

describe("generate_tree executor", () => {
  it("returns a valid tree at the first attempt, having shown the model every executor's schema", async () => {
    const model = scriptedModel([textResult(JSON.stringify(validTree), usage(300, 80))]);
    const generate = createGenerateTreeExecutor({ languageModel: model });
    const result = await generate.execute(
      { requirement: "Summarise A and B, then combine" },
      testContext({ registry: registry() }),
    );

    expect(result.tasks).toEqual(validTree.tasks);
    expect(result.attempts).toBe(1);
    expect(result.repairs).toEqual([]);
    expect(result.usage).toEqual({ inputTokens: 300, outputTokens: 80, totalTokens: 380 });
    expect(() => validateTasks(result.tasks, { registry: registry() })).not.toThrow();

    const call = model.doGenerateCalls[0];
    const system = call ? systemText(call) : "";
    for (const id of ["aggregate_results", "llm", "agent", "crew", "generate_tree"])
      expect(system).toContain(`### ${id}`);
    expect(system).toContain('"prompt"');
    expect(call?.responseFormat).toMatchObject({ type: "json" });
  });

  it("repairs an invalid tree once by feeding the validation errors back", async () => {
    const invalid = {
      tasks: [
        { name: "a", params: { executorId: "llm" }, inputs: { prompt: "x" }, dependencies: ["b"] },
        { name: "b", parentId: "a", params: { executorId: "llm" }, inputs: { prompt: "y" }, dependencies: ["a"] },
        { name: "c", parentId: "a", params: { executorId: "send_email" } },
      ],
    };
    const model = scriptedModel([
      textResult(JSON.stringify(invalid), usage(100, 50)),
      textResult(JSON.stringify(validTree), usage(200, 60)),
    ]);
    const generate = createGenerateTreeExecutor({ languageModel: model });
    const ctx = testContext({ registry: registry() });
    const result = await generate.execute({ requirement: "something" }, ctx);

    expect(result.attempts).toBe(2);
    expect(result.tasks).toEqual(validTree.tasks);
    expect(result.usage.totalTokens).toBe(410);
    const codes = result.repairs[0]?.issues.map((i) => i.code) ?? [];
    expect(codes).toContain("unknown_executor");
    expect(result.repairs[0]?.issues.some((i) => /a -> b -> a|b -> a -> b/.test(i.message))).toBe(true);

    // The second call carries the first answer and every issue.
    const repairCall = model.doGenerateCalls[1];
    const roles = repairCall?.prompt.map((m) => m.role);
    expect(roles).toEqual(["system", "user", "assistant", "user"]);
    const feedback = JSON.stringify(repairCall?.prompt.at(-1));
    expect(feedback).toContain('unknown executor \\"send_email\\"');
    expect(feedback).toContain("tasks[2].params.executorId");
    expect(ctx.progress.at(-1)?.message).toMatch(/^repairing the tree/);
  });

  it("fails with INVALID_TREE and all issues when the repair is invalid too", async () => {
    const stillInvalid = { tasks: [{ name: "x", params: { executorId: "llm" }, inputs: {} }] };
    const model = scriptedModel([textResult(JSON.stringify(stillInvalid))]);
    const generate = createGenerateTreeExecutor({ languageModel: model });
    const failure = await failureOf(() =>
      generate.execute({ requirement: "r" }, testContext({ registry: registry() })),
    );

    expect(model.doGenerateCalls).toHaveLength(2);
    expect(failure.code).toBe("INVALID_TREE");
    expect(failure.message).toContain("after 2 attempts");
    const details = failure.details as { issues: Array<{ path: string; code: string }>; attempts: number };
    expect(details.attempts).toBe(2);
    expect(details.issues).toContainEqual(
      expect.objectContaining({ path: "tasks[0].inputs.prompt", code: "invalid_inputs" }),
    );
  });

  it("treats an answer that is not even {tasks: [...]} as repairable", async () => {
    const model = scriptedModel([textResult("Sure! Here is your tree: ..."), textResult(JSON.stringify(validTree))]);
    const result = await createGenerateTreeExecutor({ languageModel: model }).execute(
      { requirement: "r" },
      testContext({ registry: registry() }),
    );
    expect(result.attempts).toBe(2);
    expect(result.repairs[0]?.issues[0]?.code).toBe("invalid_answer");
  });

  it("restricts the tree to the executors listed in inputs", async () => {
    const model = scriptedModel([textResult(JSON.stringify(validTree))]);
    const generate = createGenerateTreeExecutor({ languageModel: model });
    const failure = await failureOf(() =>
      generate.execute(
        { requirement: "r", executors: ["aggregate_results"], maxRepairs: 0 },
        testContext({ registry: registry() }),
      ),
    );
    expect(failure.code).toBe("INVALID_TREE");
    expect(JSON.stringify(failure.details)).toContain('unknown executor \\"llm\\"');
    const system = model.doGenerateCalls[0] ? systemText(model.doGenerateCalls[0]) : "";
    expect(system).not.toContain("### llm");
    const unknown = await failureOf(() =>
      generate.execute({ requirement: "r", executors: ["nope"] }, testContext({ registry: registry() })),
    );
    expect(unknown.code).toBe("INVALID_INPUTS");
  });

  it("declares a demo tree that passes core's validation", () => {
    const demo = createGenerateTreeExecutor().demoResult;
    if (typeof demo !== "function") throw new Error("demoResult must be a function");
    const { tasks } = demo({ requirement: "plan my week" });
    expect(() => validateTasks(tasks, { registry: registry() })).not.toThrow();
  });
});
