import { definePlugin } from "@aipartnerupflow/core";
import { createCommandExecutor } from "./command/executor.js";
import { systemInfoExecutor } from "./system-info.js";
import type { StdioPluginOptions } from "./types.js";

/**
 * Registers `command` (configured by `options.command`, falling back to `APFLOW_COMMAND_*`) and
 * `system_info`.
 */
export const stdioPlugin = definePlugin<StdioPluginOptions>({
  name: "@aipartnerupflow/ext-stdio",
  setup(registry, options) {
    const override = options?.override ?? false;
    registry.registerExecutor(createCommandExecutor(options?.command), { override });
    registry.registerExecutor(systemInfoExecutor, { override });
  },
});
