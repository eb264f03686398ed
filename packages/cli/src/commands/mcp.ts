import { serveMcpStdio } from "@aipartnerupflow/api-a2a";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { cliVersion } from "../program.js";
import { concurrencyOption, examples } from "./options.js";

export function registerMcp(program: Command, ctx: CliContext): void {
  const mcp = program
    .command("mcp")
    .description("serve MCP over stdin/stdout on the local store (for LLM clients); runs until stdin closes")
    .addOption(concurrencyOption())
    .action(async (_options: unknown, command: Command) => {
      ctx.requireLocal(command, "mcp");
      const backend = await ctx.localBackend(command);
      await backend.engine.start();
      const server = await serveMcpStdio({ engine: backend.engine, registry: ctx.registry, version: cliVersion() });
      // Standard output carries the protocol: messages for people go to standard error.
      ctx.err(`apflow MCP server on stdio (store: ${backend.location})`);
      await new Promise<void>((resolve) => {
        const done = (): void => resolve();
        ctx.io.stdin.once("end", done);
        ctx.io.stdin.once("close", done);
        process.once("SIGINT", done);
        process.once("SIGTERM", done);
      });
      await server.close();
      await backend.close();
    });
  examples(mcp, [
    "claude mcp add apflow -- npx apflow mcp",
    '{"mcpServers": {"apflow": {"command": "apflow", "args": ["mcp"], "env": {"APFLOW_DATABASE_URL": "/path/apflow.db"}}}}',
  ]);
}
