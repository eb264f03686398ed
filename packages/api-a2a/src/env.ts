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
