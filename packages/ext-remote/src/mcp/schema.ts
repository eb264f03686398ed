import { z } from "zod";

const headerValue = z.union([z.string().regex(/^[^\r\n\0]*$/), z.object({ secret: z.string().min(1) }).strict()]);

export const mcpServerInputSchema = z.union([
  z.string().min(1).describe("a server configured by the operator (plugin option mcp.servers)"),
  z
    .object({
      command: z.string().min(1).describe("program to start (must be on APFLOW_MCP_ALLOW_COMMANDS)"),
      args: z.array(z.string()).default([]),
      env: z.record(z.string(), z.string()).optional().describe("added to a minimal environment"),
    })
    .strict(),
  z
    .object({
      url: z.string().url().describe("Streamable HTTP endpoint (its host must be on APFLOW_MCP_ALLOW_HOSTS)"),
      headers: z.record(z.string(), headerValue).optional().describe("a value may be {secret: name}"),
    })
    .strict(),
]);

export const mcpToolInputSchema = z
  .object({
    server: mcpServerInputSchema,
    tool: z.string().min(1).describe("name of the tool to call"),
    arguments: z.record(z.string(), z.unknown()).default({}),
    timeoutMs: z.number().int().positive().optional().describe("whole call including the server's start; default 60 s"),
  })
  .strict();
export type McpToolInputs = z.output<typeof mcpToolInputSchema>;
export type McpToolInputsInput = z.input<typeof mcpToolInputSchema>;

export const mcpToolResultSchema = z.object({
  content: z.array(z.record(z.string(), z.unknown())).describe("the tool's content items as the server sent them"),
  structuredContent: z.unknown().describe("the tool's structured result, or null"),
  text: z.string().describe("the text items of content joined by newlines"),
});

export interface McpToolResult {
  content: Array<Record<string, import("@aipartnerupflow/core").JsonValue>>;
  structuredContent: import("@aipartnerupflow/core").JsonValue;
  text: string;
}
