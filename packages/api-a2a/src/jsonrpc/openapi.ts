import { z } from "zod";
import { METHODS } from "./methods.js";

type JsonSchema = Record<string, unknown>;

function schemaOf(type: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(type, { io: "input", unrepresentable: "any" }) as JsonSchema;
  delete json.$schema;
  return json;
}

const errorSchema: JsonSchema = {
  type: "object",
  required: ["jsonrpc", "id", "error"],
  properties: {
    jsonrpc: { const: "2.0" },
    id: { type: ["string", "number", "null"] },
    error: {
      type: "object",
      required: ["code", "message"],
      properties: {
        code: { type: "integer", description: "SPEC §8.4 code table" },
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
  const schemas: Record<string, JsonSchema> = { JsonRpcError: errorSchema };
  const envelopes: JsonSchema[] = [];
  for (const m of METHODS) {
    const key = `${m.name.replace(/\./g, "_")}_params`;
    schemas[key] = { ...schemaOf(m.params), description: m.summary };
    envelopes.push({
      type: "object",
      title: m.name,
      description: m.summary + (m.streams ? " (text/event-stream when stream: true)" : ""),
      required: ["jsonrpc", "method"],
      properties: {
        jsonrpc: { const: "2.0" },
        id: { type: ["string", "number", "null"] },
        method: { const: m.name },
        params: { $ref: `#/components/schemas/${key}` },
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
                "application/json": { schema: { type: "object" } },
                "text/event-stream": { schema: { type: "string" } },
              },
            },
            "400": { description: "parse error, invalid request or params, invalid tree", content: jsonError },
            "401": { description: "missing or invalid token", content: jsonError },
            "403": { description: "forbidden", content: jsonError },
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
