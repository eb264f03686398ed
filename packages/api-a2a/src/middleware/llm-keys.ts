import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.js";

/**
 * `X-LLM-API-KEY: <provider>:<key>` → executor secrets `{ "llm:<provider>": key }` (a bare key
 * counts as `openai`). Passed to `engine.execute` for this request only; never stored or logged.
 */
export function parseLlmKeyHeader(header: string | undefined): Record<string, string> | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  const colon = value.indexOf(":");
  const provider = colon > 0 ? value.slice(0, colon).trim().toLowerCase() : "openai";
  const key = colon > 0 ? value.slice(colon + 1).trim() : value;
  if (!key || !/^[a-z0-9_-]{1,40}$/.test(provider)) return undefined;
  return { [`llm:${provider}`]: key };
}

export function llmKeys(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("secrets", parseLlmKeyHeader(c.req.header("x-llm-api-key")));
    return next();
  };
}
