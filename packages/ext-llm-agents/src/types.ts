import type { ExecutorContext } from "@aipartnerupflow/core";
import type { LanguageModel } from "ai";

/**
 * Terminology of this package.
 *
 * - provider: where a model runs — `openai`, `anthropic`, or `compatible` (any OpenAI-compatible
 *   server, for example a local Ollama).
 * - model reference: `<provider>:<model id>`, for example `openai:gpt-4o-mini`. A bare model id
 *   uses the default provider.
 * - secret key: the `ctx.secrets` entry holding a per-request API key, `llm:<provider>`.
 * - tool: something a model may call — a registry tool (core's tool category) or a tool of an
 *   MCP server.
 * - step: one model call inside a tool loop (agent) or one unit of crew work.
 */

export const PROVIDERS = ["openai", "anthropic", "compatible"] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** A parsed model reference plus what is needed to build it. The API key never leaves this object. */
export interface ModelSpec {
  provider: ProviderName;
  modelId: string;
  /** The reference as written (`openai:gpt-4o-mini`); safe to log and store. */
  ref: string;
  apiKey: string | undefined;
  baseURL: string | undefined;
}

/**
 * Builds a language model for a spec. Return `undefined` to fall back to the built-in providers.
 * This is how tests inject `MockLanguageModelV3` and how applications plug in a custom provider.
 */
export type ModelFactory = (spec: ModelSpec, ctx: ExecutorContext) => LanguageModel | undefined;

/** An MCP server the agent may connect to. */
export type McpServerConfig =
  | {
      transport: "stdio";
      command: string;
      args?: string[];
      /** Extra environment for the server process (merged over a minimal default environment). */
      env?: Record<string, string>;
      cwd?: string;
    }
  | {
      transport: "http";
      url: string;
      headers?: Record<string, string>;
    };

/** Options of the plugin (`registry.use(llmAgentsPlugin, options)`), every one optional. */
export interface LlmAgentsOptions {
  /** Model used when `inputs.model` is omitted. Default: env `APFLOW_LLM_MODEL`, then `openai:gpt-4o-mini`. */
  defaultModel?: string;
  /** Provider of a bare model id (`llama3` → `compatible:llama3`). Default `openai`. */
  defaultProvider?: ProviderName;
  /** API keys by provider. Per-request secrets (`llm:<provider>`) take precedence. */
  apiKeys?: Partial<Record<ProviderName, string>>;
  /** Base URLs by provider; `compatible` defaults to env `APFLOW_LLM_BASE_URL`. */
  baseURLs?: Partial<Record<ProviderName, string>>;
  /** Custom model construction (tests, custom providers). Tried before the built-in providers. */
  modelFactory?: ModelFactory;
  /** One model for every request, whatever `inputs.model` says. Wins over `modelFactory`. */
  languageModel?: LanguageModel;
  /** MCP servers agents may use, by name (inputs refer to them as `{ server: "<name>" }`). */
  mcpServers?: Record<string, McpServerConfig>;
  /**
   * Accept MCP server definitions inside task inputs. Off by default: an inline stdio server is
   * a program started on this machine, so only trusted task authors should have it.
   */
  allowInlineMcpServers?: boolean;
  /** Minimum time between two streaming progress events of one task. Default 250 ms; 0 = every delta. */
  progressIntervalMs?: number;
  /** Environment to read keys and URLs from. Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Token usage as recorded in every result. Counts a provider did not report are 0. */
export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}
