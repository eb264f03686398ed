export { PLUGIN_NAME, remotePlugin, remotePlugin as default } from "./plugin.js";
export {
  DEFAULT_HTTP_TIMEOUT_MS,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_MCP_TIMEOUT_MS,
  MAX_RESPONSE_BYTES_CEILING,
  RemoteEnv,
  resolveRemoteConfig,
  type RemoteConfig,
  type RemoteOptions,
} from "./config.js";
export { RemoteErrorCode } from "./errors.js";
export { createGuardedFetch, TooManyRedirects, type GuardedFetchOptions } from "./fetch.js";
export { secretValue, type SecretValue } from "./secrets.js";
export {
  BODY_EXCERPT_BYTES,
  createHttpExecutor,
  demoHttpResult,
  executeHttp,
  HTTP_EXECUTOR_ID,
} from "./http/executor.js";
export {
  httpAuthSchema,
  httpInputSchema,
  httpResultSchema,
  type HttpInputs,
  type HttpInputsInput,
  type HttpResult,
} from "./http/schema.js";
export { A2A_EXECUTOR_ID, createA2aExecutor, demoA2aResult, executeA2a } from "./a2a/executor.js";
export {
  a2aInputSchema,
  a2aResultSchema,
  type A2aInputs,
  type A2aInputsInput,
  type A2aPart,
  type A2aResult,
} from "./a2a/schema.js";
export { createMcpToolExecutor, demoMcpToolResult, executeMcpTool, MCP_TOOL_EXECUTOR_ID } from "./mcp/executor.js";
export {
  mcpServerInputSchema,
  mcpToolInputSchema,
  mcpToolResultSchema,
  type McpToolInputs,
  type McpToolInputsInput,
  type McpToolResult,
} from "./mcp/schema.js";
