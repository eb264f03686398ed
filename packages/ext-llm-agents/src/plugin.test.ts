import { DuplicateRegistrationError, Registry } from "@aipartnerupflow/core";
import { describe, expect, it } from "vitest";
import pluginAsDefault, { llmAgentsPlugin, PLUGIN_NAME, registerLlmAgentExecutors } from "./index.js";

describe("plugin", () => {
  it("registers the four executors with JSON Schemas, cancelable, each with a demo result", async () => {
    const registry = new Registry();
    await registry.use(llmAgentsPlugin, {});
    expect(registry.listPlugins()).toEqual([{ name: PLUGIN_NAME, version: "0.1.0" }]);
    const listed = registry.listExecutors();
    expect(listed.map((e) => e.id).sort()).toEqual(["agent", "crew", "generate_tree", "llm"]);
    for (const meta of listed) {
      expect(meta.cancelable).toBe(true);
      expect(meta.inputSchema).toMatchObject({ type: "object" });
      expect(meta.description.length).toBeGreaterThan(20);
      expect(registry.getExecutor(meta.id)?.demoResult).toBeTypeOf("function");
    }
    const crew = listed.find((e) => e.id === "crew");
    expect(crew?.inputSchema).toMatchObject({ required: expect.arrayContaining(["agents", "tasks"]) });
  });

  it("is the package's default export, as APFLOW_PLUGINS loading expects", () => {
    expect(pluginAsDefault).toBe(llmAgentsPlugin);
  });

  it("refuses a second registration unless override is set", () => {
    const registry = registerLlmAgentExecutors(new Registry());
    expect(() => registerLlmAgentExecutors(registry)).toThrow(DuplicateRegistrationError);
    expect(() => registerLlmAgentExecutors(registry, {}, { override: true })).not.toThrow();
  });
});
