import { createCommandExecutor } from "./command/executor.js";

export { stdioPlugin, stdioPlugin as default } from "./plugin.js";
export {
  COMMAND_EXECUTOR_ID,
  createCommandExecutor,
  demoCommandResult,
} from "./command/executor.js";
export { CommandErrorCode } from "./command/errors.js";
export {
  CommandEnv,
  DEFAULT_KILL_GRACE_MS,
  DEFAULT_MAX_OUTPUT_BYTES,
  REFUSED_ENV_VARIABLES,
  SAFE_ENV_VARIABLES,
  resolveCommandPolicy,
  type CommandPolicy,
} from "./command/policy.js";
export {
  commandInputSchema,
  commandResultSchema,
  type CommandInputs,
  type CommandInputsInput,
} from "./command/schema.js";
export {
  SYSTEM_INFO_EXECUTOR_ID,
  readSystemInfo,
  systemInfoDemoResult,
  systemInfoExecutor,
  systemInfoInputSchema,
  systemInfoResultSchema,
  type SystemInfoInputs,
} from "./system-info.js";
export type * from "./types.js";

/** The `command` executor configured by the environment alone (`APFLOW_COMMAND_*`, read per run). */
export const commandExecutor = createCommandExecutor();
