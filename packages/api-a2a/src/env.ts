import type { Logger } from "@aipartnerupflow/core";
import type { Principal } from "./types.js";

/** Per-request values the middleware chain sets for handlers. */
export interface AppEnv {
  Variables: {
    requestId: string;
    principal: Principal;
    /** `X-LLM-API-KEY` as executor secrets; never stored or logged. */
    secrets: Record<string, string> | undefined;
    log: Logger;
  };
}

/** The environment variable apps read `allowedHosts` from (comma-separated `name` or `name:port`). */
export const ALLOWED_HOSTS_ENV = "APFLOW_ALLOWED_HOSTS";

/** `APFLOW_ALLOWED_HOSTS="api.example.com, api.example.com:8443"` → the list `createApp` takes. */
export function parseAllowedHosts(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
