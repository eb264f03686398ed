import { z } from "zod";
import { secretValue } from "../secrets.js";

const headerValue = z.union([
  z.string().regex(/^[^\r\n\0]*$/, "header values may not contain CR, LF or NUL"),
  z.object({ secret: z.string().min(1) }).strict(),
]);

export const httpAuthSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("bearer"), token: secretValue }).strict(),
  z.object({ type: z.literal("basic"), username: z.string(), password: secretValue }).strict(),
  z
    .object({
      type: z.literal("apikey"),
      name: z.string().min(1),
      value: secretValue,
      in: z.enum(["header", "query"]).default("header"),
    })
    .strict(),
]);

export const httpInputSchema = z
  .object({
    url: z.string().url().describe("http(s) URL"),
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]).default("GET"),
    headers: z.record(z.string(), headerValue).optional().describe("request headers; a value may be {secret: name}"),
    query: z
      .record(
        z.string(),
        z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]),
      )
      .optional()
      .describe("query parameters added to the URL's own"),
    json: z.unknown().optional().describe("a JSON body (sets content-type: application/json)"),
    body: z.string().optional().describe("a text body, sent as it is"),
    auth: httpAuthSchema.optional(),
    timeoutMs: z.number().int().positive().optional().describe("whole request, headers and body; default 30 s"),
    maxResponseBytes: z.number().int().positive().optional().describe("response body bound; default 1 MiB"),
    okStatus: z
      .array(z.number().int().min(100).max(599))
      .min(1)
      .optional()
      .describe("statuses that succeed; default every 2xx"),
    followRedirects: z.boolean().default(true),
  })
  .strict()
  .refine((v) => v.json === undefined || v.body === undefined, {
    message: "give json or body, not both",
    path: ["body"],
  })
  .refine((v) => (v.method !== "GET" && v.method !== "HEAD") || (v.json === undefined && v.body === undefined), {
    message: "GET and HEAD requests have no body",
    path: ["method"],
  });
export type HttpInputs = z.output<typeof httpInputSchema>;
export type HttpInputsInput = z.input<typeof httpInputSchema>;

export const httpResultSchema = z.object({
  status: z.number().int(),
  headers: z.record(z.string(), z.string()),
  body: z.unknown().describe("parsed JSON when the response is JSON, text for text, base64 otherwise, null when empty"),
  bodyEncoding: z.enum(["json", "text", "base64", "none"]),
  url: z.string().describe("the URL that answered (after redirects)"),
});
export type HttpResult = {
  status: number;
  headers: Record<string, string>;
  body: import("@aipartnerupflow/core").JsonValue;
  bodyEncoding: "json" | "text" | "base64" | "none";
  url: string;
};
