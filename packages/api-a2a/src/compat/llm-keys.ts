import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { ValidationError } from "@aipartnerupflow/core";

/** The provider a key is stored under when the caller names none (the original's "default"). */
export const DEFAULT_PROVIDER = "default";
const PROVIDER = /^[a-z0-9_-]{1,40}$/;
const MAX_KEY_LENGTH = 4096;

export interface LlmKeyVaultOptions {
  /** Stored keys at most (over all users); setting one more is refused. Default 10,000. */
  maxKeys?: number;
  /** Providers per user at most. Default 32. */
  maxProvidersPerUser?: number;
}

/**
 * Per-user LLM API keys for `config.llm_key.*` (the original's user config). Held only in this
 * process's memory, each key encrypted (AES-256-GCM) under a key made at start and never written
 * anywhere, so a dump of the map, a log line or an error shows no key. Nothing is persisted: a
 * restart forgets every key. Keys reach executors as per-request secrets (`llm:<provider>`),
 * exactly like the `X-LLM-API-KEY` header, never through task rows or events.
 */
export class LlmKeyVault {
  private readonly secret = randomBytes(32);
  private readonly keys = new Map<string, Map<string, Buffer>>();
  private readonly maxKeys: number;
  private readonly maxProviders: number;
  private count = 0;

  constructor(options: LlmKeyVaultOptions = {}) {
    this.maxKeys = options.maxKeys ?? 10_000;
    this.maxProviders = options.maxProvidersPerUser ?? 32;
  }

  set(user: string, apiKey: unknown, provider: unknown): string {
    const name = providerName(provider);
    if (typeof apiKey !== "string" || apiKey.trim().length === 0) {
      throw new ValidationError([{ path: "params.api_key", code: "required", message: "api_key is required" }]);
    }
    const key = apiKey.trim();
    if (key.length > MAX_KEY_LENGTH || /[\r\n\0]/.test(key)) {
      throw new ValidationError([
        {
          path: "params.api_key",
          code: "invalid_value",
          message: `api_key must be one line of at most ${MAX_KEY_LENGTH} characters`,
        },
      ]);
    }
    const own = this.keys.get(user) ?? new Map<string, Buffer>();
    if (!own.has(name)) {
      if (own.size >= this.maxProviders) {
        throw new ValidationError([
          { path: "params.provider", code: "too_many", message: `at most ${this.maxProviders} providers per user` },
        ]);
      }
      if (this.count >= this.maxKeys) {
        throw new ValidationError([
          { path: "params.api_key", code: "too_many", message: "this server holds as many LLM keys as it may" },
        ]);
      }
      this.count++;
    }
    own.set(name, this.seal(key));
    this.keys.set(user, own);
    return name;
  }

  has(user: string, provider?: unknown): boolean {
    const own = this.keys.get(user);
    if (!own) return false;
    return provider === undefined || provider === null || provider === ""
      ? own.size > 0
      : own.has(providerName(provider));
  }

  /** Providers with a key, each masked (the original's `{provider: "***"}`). */
  providers(user: string): Record<string, string> {
    return Object.fromEntries([...(this.keys.get(user)?.keys() ?? [])].map((p) => [p, "***"]));
  }

  /** Delete one provider's key, or all of the user's when no provider is named. */
  delete(user: string, provider?: unknown): boolean {
    const own = this.keys.get(user);
    if (!own) return false;
    if (provider === undefined || provider === null || provider === "") {
      this.count -= own.size;
      this.keys.delete(user);
      return own.size > 0;
    }
    const removed = own.delete(providerName(provider));
    if (removed) this.count--;
    if (own.size === 0) this.keys.delete(user);
    return removed;
  }

  /**
   * The user's keys as executor secrets (`llm:<provider>`). A key stored without a provider
   * counts as `openai`, as a bare `X-LLM-API-KEY` does; a provider's own key wins over it.
   */
  secrets(user: string): Record<string, string> | undefined {
    const own = this.keys.get(user);
    if (!own || own.size === 0) return undefined;
    const out: Record<string, string> = {};
    const fallback = own.get(DEFAULT_PROVIDER);
    if (fallback) out["llm:openai"] = this.open(fallback);
    for (const [provider, sealed] of own) if (provider !== DEFAULT_PROVIDER) out[`llm:${provider}`] = this.open(sealed);
    return out;
  }

  private seal(plain: string): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.secret, iv);
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  private open(sealed: Buffer): string {
    const decipher = createDecipheriv("aes-256-gcm", this.secret, sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(12, 28));
    return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString("utf8");
  }
}

function providerName(provider: unknown): string {
  if (provider === undefined || provider === null || provider === "") return DEFAULT_PROVIDER;
  const name = typeof provider === "string" ? provider.trim().toLowerCase() : "";
  if (!PROVIDER.test(name)) {
    throw new ValidationError([
      {
        path: "params.provider",
        code: "invalid_value",
        message: "provider must be 1-40 characters of a-z, 0-9, _ and -",
      },
    ]);
  }
  return name;
}
