export { createApp, DEFAULT_BODY_LIMIT, type ApflowApp } from "./app.js";
export { startServer, type StartServerOptions, type ServerHandle, type FetchApp } from "./server.js";
export { createToken, type CreateTokenOptions } from "./auth/token.js";
export { createVerifier, type TokenVerifier } from "./auth/verifier.js";
export { createMcpServer, type McpDeps } from "./mcp/server.js";
export { serveMcpStdio } from "./mcp/stdio.js";
export { createLogger, REDACT_PATHS, type LoggerOptions } from "./logger.js";
export { httpStatusOf, toRpcError, RATE_LIMITED, type RpcError } from "./errors.js";
export { parseLlmKeyHeader } from "./middleware/llm-keys.js";
export { signBody, SIGNATURE_HEADER } from "./jsonrpc/webhook.js";
export { METHODS } from "./jsonrpc/methods.js";
export { openApiDocument } from "./jsonrpc/openapi.js";
export { compatSurface, DEFAULT_COMPAT_PATH, type CompatOptions } from "./compat/route.js";
export { RENAMES as COMPAT_RENAMES } from "./compat/fields.js";
export { LlmKeyVault } from "./compat/llm-keys.js";
export {
  TaskService,
  type CreateResult,
  type EngineInfo,
  type ExecuteRequest,
  type ExecutorInfo,
  type FollowQuery,
  type RunningStatus,
  type TaskDetail,
  type TreeState,
} from "./service/task-service.js";
export { ScheduleOperations, type ScheduleListQuery } from "./service/schedules.js";
export { NodeOperations, type NodeEventJson, type NodeJson } from "./service/nodes.js";
export {
  gatePlan,
  type Plan,
  PLAN_APPROVAL_NAME,
  PLANNER_HOWTO,
  PlannerUnavailableError,
  type PlanRequest,
  planPrompt,
  planTree,
} from "./service/plan.js";
export { LimitOperations } from "./service/limits.js";
export { ALLOWED_HOSTS_ENV, parseAllowedHosts } from "./env.js";
export type { MethodDefinition, McpToolSpec } from "./jsonrpc/methods.js";
export { ApflowClient, ApflowRpcError, type ApflowClientOptions } from "./client/client.js";
export type { Principal, AppOptions, AuthOptions, RateLimitOptions, WebhookOptions } from "./types.js";
export { VERSION } from "./version.js";
