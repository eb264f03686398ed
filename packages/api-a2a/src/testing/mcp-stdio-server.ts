/** Spawned by the MCP stdio test: an MCP server over stdin/stdout with an in-memory store. */
import { serveMcpStdio } from "../mcp/stdio.js";
import { testEngine } from "./fixtures.js";

const engine = testEngine();
await serveMcpStdio({ engine });
process.stdin.on("close", () => {
  void engine.stop({ graceMs: 0 }).then(() => process.exit(0));
});
