import { definePlugin } from "@aipartnerupflow/core";
import { createA2aExecutor } from "./a2a/executor.js";
import type { RemoteOptions } from "./config.js";
import { createHttpExecutor } from "./http/executor.js";
import { createMcpToolExecutor } from "./mcp/executor.js";

export const PLUGIN_NAME = "@aipartnerupflow/ext-remote";

/**
 * Registers `http`, `a2a` and `mcp_tool`. Options win over the environment
 * (`APFLOW_OUTBOUND_ALLOW_HOSTS`, `APFLOW_MCP_ALLOW_COMMANDS`, `APFLOW_MCP_ALLOW_HOSTS`), which is
 * read on every run.
 */
export const remotePlugin = definePlugin<RemoteOptions>({
  name: PLUGIN_NAME,
  setup(registry, options) {
    const override = options?.override ?? false;
    registry.registerExecutor(createHttpExecutor(options), { override });
    registry.registerExecutor(createA2aExecutor(options), { override });
    registry.registerExecutor(createMcpToolExecutor(options), { override });
  },
});
