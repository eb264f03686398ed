/**
 * @aipartnerupflow/cli — the `apflow` command. The package is meant to be run (`apflow --help`);
 * this entry exposes the pieces for embedding and testing.
 */
export { main } from "./main.js";
export { createProgram, cliVersion } from "./program.js";
export { CliContext, type GlobalOptions } from "./context.js";
export { ExitCode, CliError, exitCodeFor, describeError } from "./errors.js";
export type { Io, OutStream } from "./io.js";
export {
  loadConfig,
  configFileSchema,
  resolveSettings,
  CONFIG_FILE_NAME,
  type ConfigFile,
  type LoadedConfig,
  type Settings,
} from "./config.js";
export { loadPlugins, type LoadedPlugin } from "./plugins.js";
export { renderTree, type TreeRenderOptions } from "./render/tree.js";
export type { TaskBackend } from "./backend/types.js";
