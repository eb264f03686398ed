import type { Engine, Logger, Registry, TaskStore } from "@aipartnerupflow/core";
import type { CompatOptions } from "./compat/route.js";

/** Who is calling. With auth off every caller is the anonymous administrator. */
export interface Principal {
  /** The JWT `sub`; `null` when auth is off. */
  userId: string | null;
  /** May act on every user's tasks. */
  admin: boolean;
  authenticated: boolean;
}

export interface AuthOptions {
  /** HS256 shared secret (`APFLOW_JWT_SECRET`). */
  jwtSecret?: string;
  /** JWKS URL for asymmetric tokens (`APFLOW_JWKS_URL`). */
  jwksUrl?: string;
  issuer?: string;
  audience?: string;
}

export interface RateLimitOptions {
  /** Bucket size: requests allowed in a burst. */
  burst: number;
  /** Tokens added per second. */
  perSecond: number;
}

export interface WebhookOptions {
  /** Signs each delivery with HMAC-SHA256 in `X-Apflow-Signature: sha256=<hex>`. */
  secret?: string;
  /** Attempts per event (default 5). */
  maxAttempts?: number;
  /** First retry delay, doubled each attempt (default 200 ms). */
  retryDelayMs?: number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
}

/** Everything `createApp` needs. Only `engine` is required. */
export interface AppOptions {
  engine: Engine;
  /** Defaults to `engine.store`. */
  store?: TaskStore;
  /** Defaults to `engine.registry`. */
  registry?: Registry;
  /** Auth is off unless a secret or a JWKS URL is given. */
  auth?: AuthOptions;
  logger?: Logger;
  /** Maximum request body in bytes (default 1 MiB). */
  bodyLimitBytes?: number;
  /** Per user (or per IP when anonymous); off when omitted. */
  rateLimit?: RateLimitOptions;
  /** Origins allowed by CORS; no CORS headers when omitted. */
  corsOrigins?: string[];
  /**
   * Host names (`name` or `name:port`) clients use to reach this server besides loopback names
   * (`APFLOW_ALLOWED_HOSTS`). Requests whose `Host` or `Origin` names another host are refused
   * with 403 (DNS rebinding protection): always when names are listed, and on connections to a
   * loopback address when none are. `["*"]` turns the check off.
   */
  allowedHosts?: string[];
  webhooks?: WebhookOptions;
  /**
   * Hosts (`name`, `name:port`, `[v6]:port`) that webhooks and A2A push notifications may reach
   * although they are (or resolve to) loopback, link-local, private or other internal addresses;
   * every other internal destination is refused (`APFLOW_WEBHOOK_ALLOW_HOSTS` in apps/server).
   */
  webhookAllowHosts?: string[];
  /** The URL clients use to reach this server (agent card); derived from the request otherwise. */
  publicUrl?: string;
  /**
   * The Python original's API at `/compat` (`false`: not served). On by default; `path` moves
   * it, `storedLlmKeys: false` refuses `config.llm_key.*`.
   */
  compat?: false | CompatOptions;
  /** Agent name and version shown in the agent card and health. */
  name?: string;
  version?: string;
}
