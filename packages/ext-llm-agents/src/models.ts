import { type ExecutorContext, NonRetryableError } from "@aipartnerupflow/core";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModel } from "ai";
import { type LlmAgentsOptions, type ModelSpec, PROVIDERS, type ProviderName } from "./types.js";

export const DEFAULT_MODEL = "openai:gpt-4o-mini";

/** Environment variables read for keys and URLs. */
export const ENV = {
  model: "APFLOW_LLM_MODEL",
  baseURL: "APFLOW_LLM_BASE_URL",
  keys: {
    openai: "OPENAI_API_KEY",
    anthropic: "ANTHROPIC_API_KEY",
    compatible: "APFLOW_LLM_API_KEY",
  } satisfies Record<ProviderName, string>,
} as const;

/** The `ctx.secrets` key holding a per-request API key for a provider: `llm:<provider>`. */
export function secretKeyFor(provider: ProviderName): string {
  return `llm:${provider}`;
}

function isProvider(value: string): value is ProviderName {
  return (PROVIDERS as readonly string[]).includes(value);
}

/**
 * Turn the API header `X-LLM-API-KEY: <provider>:<key>` into secrets (`{ "llm:openai": key }`).
 * Several keys may be given separated by commas. Returns `{}` for an unknown provider.
 */
export function llmSecretsFromHeader(header: string | null | undefined): Record<string, string> {
  const secrets: Record<string, string> = {};
  if (!header) return secrets;
  for (const part of header.split(",")) {
    const trimmed = part.trim();
    const colon = trimmed.indexOf(":");
    if (colon <= 0) continue;
    const provider = trimmed.slice(0, colon).trim().toLowerCase();
    const key = trimmed.slice(colon + 1).trim();
    if (isProvider(provider) && key) secrets[secretKeyFor(provider)] = key;
  }
  return secrets;
}

/** Split `provider:model` (a bare id takes the default provider). Ids may contain colons (`llama3:8b`). */
export function parseModelRef(
  ref: string,
  defaultProvider: ProviderName = "openai",
): { provider: ProviderName; modelId: string } {
  const colon = ref.indexOf(":");
  if (colon > 0) {
    const head = ref.slice(0, colon);
    if (isProvider(head)) {
      const modelId = ref.slice(colon + 1);
      if (!modelId) throw new NonRetryableError(`model reference "${ref}" has no model id`, { code: "INVALID_MODEL" });
      return { provider: head, modelId };
    }
  }
  if (!ref) throw new NonRetryableError("empty model reference", { code: "INVALID_MODEL" });
  return { provider: defaultProvider, modelId: ref };
}

/** Resolve the spec of a model reference: provider, id, key (secrets, then options, then env) and base URL. */
export function resolveModelSpec(
  ref: string | undefined,
  options: LlmAgentsOptions,
  secrets: Readonly<Record<string, string>>,
): ModelSpec {
  const env = options.env ?? process.env;
  const written = ref ?? options.defaultModel ?? env[ENV.model] ?? DEFAULT_MODEL;
  const { provider, modelId } = parseModelRef(written, options.defaultProvider);
  const apiKey = secrets[secretKeyFor(provider)] ?? options.apiKeys?.[provider] ?? env[ENV.keys[provider]] ?? undefined;
  const baseURL = options.baseURLs?.[provider] ?? (provider === "compatible" ? env[ENV.baseURL] : undefined);
  return {
    provider,
    modelId,
    ref: `${provider}:${modelId}`,
    apiKey: apiKey || undefined,
    baseURL: baseURL || undefined,
  };
}

/** Build the language model with the built-in providers. */
export function builtinModel(spec: ModelSpec): LanguageModel {
  switch (spec.provider) {
    case "openai":
      requireKey(spec);
      return createOpenAI({ apiKey: spec.apiKey, baseURL: spec.baseURL })(spec.modelId);
    case "anthropic":
      requireKey(spec);
      return createAnthropic({ apiKey: spec.apiKey, baseURL: spec.baseURL })(spec.modelId);
    case "compatible":
      if (!spec.baseURL) {
        throw new NonRetryableError(
          `model ${spec.ref}: no base URL for the OpenAI-compatible provider (set ${ENV.baseURL} or the plugin option baseURLs.compatible)`,
          { code: "LLM_NOT_CONFIGURED" },
        );
      }
      return createOpenAICompatible({ name: "compatible", baseURL: spec.baseURL, apiKey: spec.apiKey })(spec.modelId);
  }
}

function requireKey(spec: ModelSpec): void {
  if (spec.apiKey) return;
  throw new NonRetryableError(
    `model ${spec.ref}: no API key (set ${ENV.keys[spec.provider]}, the plugin option apiKeys.${spec.provider}, or the request secret "${secretKeyFor(spec.provider)}")`,
    { code: "LLM_NOT_CONFIGURED" },
  );
}

/** A resolved model: the model plus its loggable reference and the key to keep out of outputs. */
export interface ResolvedModel {
  model: LanguageModel;
  ref: string;
  /** Secret values to scrub from error messages. */
  secrets: string[];
}

/** Pick the model for a request: `languageModel` option, then `modelFactory`, then the built-in providers. */
export function resolveModel(ref: string | undefined, options: LlmAgentsOptions, ctx: ExecutorContext): ResolvedModel {
  const spec = resolveModelSpec(ref, options, ctx.secrets);
  const secrets = secretValues(ctx, spec);
  if (options.languageModel) return { model: options.languageModel, ref: spec.ref, secrets };
  const custom = options.modelFactory?.(spec, ctx);
  return { model: custom ?? builtinModel(spec), ref: spec.ref, secrets };
}

function secretValues(ctx: ExecutorContext, spec: ModelSpec): string[] {
  const values = new Set<string>(Object.values(ctx.secrets).filter((v) => v.length >= 4));
  if (spec.apiKey && spec.apiKey.length >= 4) values.add(spec.apiKey);
  return [...values];
}
