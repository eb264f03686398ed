export type { LlmAgentsOptions, McpServerConfig, ModelFactory, ModelSpec, ProviderName, TokenUsage } from "./types.js";
export { PROVIDERS } from "./types.js";
export {
  DEFAULT_MODEL,
  ENV,
  llmSecretsFromHeader,
  parseModelRef,
  resolveModelSpec,
  secretKeyFor,
} from "./models.js";
export { LlmErrorCode } from "./failures.js";
export { createLlmExecutor, llmInputSchema, type LlmInputs, type LlmResult } from "./llm.js";
export { agentInputSchema, createAgentExecutor, type AgentInputs, type AgentResult } from "./agent.js";
export type { AgentStepRecord } from "./run-agent.js";
export type { McpUse } from "./mcp-tools.js";
export {
  createCrewExecutor,
  crewInputSchema,
  type CrewAgent,
  type CrewInputs,
  type CrewResult,
  type CrewStep,
  type CrewTaskOutcome,
  type CrewTaskSpec,
} from "./crew/index.js";
export {
  createGenerateTreeExecutor,
  generateTreeInputSchema,
  type GenerateTreeInputs,
  type GenerateTreeResult,
} from "./generate-tree.js";
export { createLlmAgentExecutors, llmAgentsPlugin, PLUGIN_NAME, registerLlmAgentExecutors } from "./plugin.js";
export { llmAgentsPlugin as default } from "./plugin.js";
export {
  createMcpTransport,
  MCP_ERROR,
  type McpConnectOptions,
  type McpConnection,
  type McpToolInfo,
  openMcpConnection,
} from "./mcp-client.js";
