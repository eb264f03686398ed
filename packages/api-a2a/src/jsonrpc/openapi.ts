import { jsonObjectSchema } from "@aipartnerupflow/core";
import { z } from "zod";
import { COMMON_ERRORS, METHODS } from "./methods.js";
import { NAMED_SCHEMAS } from "./results.js";

type JsonSchema = Record<string, unknown>;

const JSON_OBJECT_CHECK = (jsonObjectSchema as unknown as { _zod: { def: { fn?: unknown } } })._zod.def.fn;

/** zod's JSON Schema for our hand-written JSON checks: a JSON object is `type: object`. */
function override(ctx: { zodSchema: unknown; jsonSchema: JsonSchema }): void {
  const def = (ctx.zodSchema as { _zod?: { def?: { type?: string; fn?: unknown } } })._zod?.def;
  if (def?.type === "custom" && def.fn === JSON_OBJECT_CHECK) {
    ctx.jsonSchema.type = "object";
    ctx.jsonSchema.additionalProperties = {};
  }
}

/** Every schema under its component name, with references between them (`#/components/schemas/…`). */
function componentSchemas(entries: Array<[string, z.ZodType]>, io: "input" | "output"): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  const aliases: Array<[string, string]> = [];
  for (const [id, schema] of entries) {
    // A schema published under a shared name (a method answering one Task) is referenced by it.
    const named = registry.get(schema)?.id;
    if (named) aliases.push([id, named]);
    else registry.add(schema, { id });
  }
  const out = z.toJSONSchema(registry, {
    io,
    unrepresentable: "any",
    uri: (id) => `#/components/schemas/${id}`,
    override,
  }) as { schemas: Record<string, JsonSchema> };
  for (const schema of Object.values(out.schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  for (const [id, named] of aliases) out.schemas[id] = { $ref: `#/components/schemas/${named}` };
  return out.schemas;
}

function key(method: string, part: "params" | "result"): string {
  return `${method.replace(/\./g, "_")}_${part}`;
}

const ERROR_NAMES: Record<number, string> = {
  [-32700]: "parse error",
  [-32600]: "invalid request",
  [-32601]: "method not found",
  [-32602]: "invalid params (data.errors lists each problem)",
  [-32603]: "internal error",
  [-32001]: "task not found",
  [-32002]: "circular dependency",
  [-32003]: "executor not found",
  [-32004]: "unauthorized",
  [-32005]: "invalid task",
  [-32006]: "invalid transition",
  [-32007]: "dependencies not satisfied",
  [-32008]: "already executing",
  [-32009]: "cannot delete",
  [-32010]: "invalid parent",
  [-32011]: "invalid dependency",
  [-32012]: "tree validation failed",
  [-32013]: "unavailable",
  [-32000]: "rate limited",
};

const errorSchema: JsonSchema = {
  type: "object",
  required: ["jsonrpc", "id", "error"],
  properties: {
    jsonrpc: { const: "2.0" },
    id: { type: ["string", "number", "null"], description: "the request's id (null when it could not be read)" },
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: {
          type: "integer",
          description: Object.entries(ERROR_NAMES)
            .map(([code, name]) => `${code} ${name}`)
            .join("; "),
        },
        message: { type: "string" },
        data: {
          description: "details; validation problems are listed in data.errors[] as {path, code, message}",
        },
      },
    },
  },
};

/** The OpenAPI 3.1 document of the HTTP API, built from the same zod schemas that validate requests. */
export function openApiDocument(info: { title: string; version: string }): JsonSchema {
  const params = componentSchemas(
    [...NAMED_SCHEMAS, ...METHODS.map((m): [string, z.ZodType] => [key(m.name, "params"), m.docParams ?? m.params])],
    "input",
  );
  const results = componentSchemas(
    [...NAMED_SCHEMAS, ...METHODS.map((m): [string, z.ZodType] => [key(m.name, "result"), m.result])],
    "output",
  );
  const schemas: Record<string, JsonSchema> = { ...results, ...params, JsonRpcError: errorSchema };
  const envelopes: JsonSchema[] = [];
  const answers: JsonSchema[] = [];
  for (const m of METHODS) {
    const errors = [...COMMON_ERRORS, ...m.errors];
    const description = [
      m.summary + (m.streams ? " (text/event-stream when stream: true)" : ""),
      `Errors: ${errors.map((c) => `${c} ${ERROR_NAMES[c] ?? ""}`.trim()).join(", ")}.`,
      m.mcp ? `Also the MCP tool ${m.mcp.tool}.` : "",
    ]
      .filter(Boolean)
      .join(" ");
    const paramsSchema = schemas[key(m.name, "params")] as JsonSchema;
    if (!paramsSchema.$ref) schemas[key(m.name, "params")] = { ...paramsSchema, description: m.summary };
    envelopes.push({
      type: "object",
      title: m.name,
      description,
      required: ["jsonrpc", "method"],
      properties: {
        jsonrpc: { const: "2.0" },
        id: { type: ["string", "number", "null"] },
        method: { const: m.name },
        params: { $ref: `#/components/schemas/${key(m.name, "params")}` },
      },
      "x-result": { $ref: `#/components/schemas/${key(m.name, "result")}` },
      "x-errors": errors,
    });
    answers.push({
      type: "object",
      title: m.name,
      required: ["jsonrpc", "id", "result"],
      properties: {
        jsonrpc: { const: "2.0" },
        id: { type: ["string", "number", "null"] },
        result: { $ref: `#/components/schemas/${key(m.name, "result")}` },
      },
    });
  }
  const jsonError = { "application/json": { schema: { $ref: "#/components/schemas/JsonRpcError" } } };
  return {
    openapi: "3.1.0",
    info: { ...info, description: "aipartnerupflow: JSON-RPC task API, A2A and MCP" },
    components: {
      schemas,
      securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
    },
    security: [{ bearer: [] }, {}],
    paths: {
      "/tasks": {
        post: {
          summary: "JSON-RPC 2.0 task API (one request or a batch)",
          description:
            "Each method's params and result schema is in components.schemas (<method>_params, <method>_result, with dots as underscores).",
          parameters: [
            {
              name: "Last-Event-ID",
              in: "header",
              required: false,
              schema: { type: "string" },
              description: "resume an SSE stream after this seq",
            },
            {
              name: "X-LLM-API-KEY",
              in: "header",
              required: false,
              schema: { type: "string" },
              description: "provider:key for LLM executors of this request",
            },
          ],
          requestBody: { required: true, content: { "application/json": { schema: { oneOf: envelopes } } } },
          responses: {
            "200": {
              description: "result (or an SSE stream for stream: true)",
              content: {
                "application/json": {
                  schema: { anyOf: [...answers, { type: "array", description: "the answers of a batch" }] },
                },
                "text/event-stream": { schema: { type: "string" } },
              },
            },
            "400": { description: "parse error, invalid request or params, invalid tree", content: jsonError },
            "401": { description: "missing or invalid token", content: jsonError },
            "403": { description: "forbidden, or a Host/Origin this server does not answer", content: jsonError },
            "404": { description: "unknown method or task", content: jsonError },
            "409": { description: "invalid transition, already executing, cannot delete", content: jsonError },
            "413": { description: "body too large", content: jsonError },
            "429": { description: "rate limited", content: jsonError },
          },
        },
      },
      "/tasks/methods": {
        get: { summary: "The JSON-RPC methods", responses: { "200": { description: "method list" } } },
      },
      "/health": { get: { summary: "Liveness", security: [], responses: { "200": { description: "ok" } } } },
      "/a2a": {
        post: {
          summary: "A2A JSON-RPC (v1.0 names; v0.3 names with header A2A-Version: 0.3)",
          responses: { "200": { description: "A2A response or SSE" } },
        },
      },
      "/.well-known/agent-card.json": {
        get: { summary: "A2A agent card", security: [], responses: { "200": { description: "card" } } },
      },
      "/mcp": { post: { summary: "MCP Streamable HTTP", responses: { "200": { description: "MCP response" } } } },
      "/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1" } } } },
      "/docs": { get: { summary: "HTML rendering of this document", responses: { "200": { description: "HTML" } } } },
    },
  };
}
