import { definePlugin, type ExecutorDefinition, type Registry } from "@aipartnerupflow/core";
import { createAgentExecutor } from "./agent.js";
import { createCrewExecutor } from "./crew/index.js";
import { createGenerateTreeExecutor } from "./generate-tree.js";
import { createLlmExecutor } from "./llm.js";
import type { LlmAgentsOptions } from "./types.js";

export const PLUGIN_NAME = "@aipartnerupflow/ext-llm-agents";

/** The four executors, configured with the same options. */
export function createLlmAgentExecutors(options: LlmAgentsOptions = {}) {
  return {
    llm: createLlmExecutor(options),
    agent: createAgentExecutor(options),
    crew: createCrewExecutor(options),
    generateTree: createGenerateTreeExecutor(options),
  } as const;
}

/** Register `llm`, `agent`, `crew` and `generate_tree` in a registry. */
export function registerLlmAgentExecutors(
  registry: Registry,
  options: LlmAgentsOptions = {},
  registration: { override?: boolean } = {},
): Registry {
  for (const definition of Object.values(createLlmAgentExecutors(options)) as ExecutorDefinition<never, unknown>[]) {
    registry.registerExecutor(definition, registration);
  }
  return registry;
}

/**
 * The plugin: `registry.use(llmAgentsPlugin, options)`, or `APFLOW_PLUGINS=@aipartnerupflow/ext-llm-agents`
 * (options then come from the environment only).
 */
export const llmAgentsPlugin = definePlugin<LlmAgentsOptions>({
  name: PLUGIN_NAME,
  version: "0.1.0",
  setup(registry, options) {
    registerLlmAgentExecutors(registry, options ?? {});
  },
});
