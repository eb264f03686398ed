import { TaskFailure } from "@aipartnerupflow/core";
import { MockLanguageModelV3 } from "ai/test";
import { describe, expect, it } from "vitest";
import { llmSecretsFromHeader, parseModelRef, resolveModel, resolveModelSpec, secretKeyFor } from "./models.js";
import { testContext } from "./test-support.js";
import type { ModelSpec } from "./types.js";

describe("model references", () => {
  it("splits provider and model id, keeping colons inside the id", () => {
    expect(parseModelRef("openai:gpt-4o-mini")).toEqual({ provider: "openai", modelId: "gpt-4o-mini" });
    expect(parseModelRef("compatible:llama3:8b")).toEqual({ provider: "compatible", modelId: "llama3:8b" });
    expect(parseModelRef("llama3", "compatible")).toEqual({ provider: "compatible", modelId: "llama3" });
    expect(() => parseModelRef("openai:")).toThrow(TaskFailure);
  });
});

describe("keys and URLs", () => {
  const env = { OPENAI_API_KEY: "env-openai", APFLOW_LLM_BASE_URL: "http://localhost:11434/v1" };

  it("prefers the request secret, then the plugin option, then the environment", () => {
    expect(resolveModelSpec("openai:m", { env }, {}).apiKey).toBe("env-openai");
    expect(resolveModelSpec("openai:m", { env, apiKeys: { openai: "opt" } }, {}).apiKey).toBe("opt");
    expect(resolveModelSpec("openai:m", { env, apiKeys: { openai: "opt" } }, { "llm:openai": "req" }).apiKey).toBe(
      "req",
    );
  });

  it("reads the compatible base URL from APFLOW_LLM_BASE_URL and the default model from options or env", () => {
    const spec = resolveModelSpec("compatible:llama3", { env }, {});
    expect(spec.baseURL).toBe("http://localhost:11434/v1");
    expect(resolveModelSpec(undefined, { env: { APFLOW_LLM_MODEL: "anthropic:claude" } }, {}).ref).toBe(
      "anthropic:claude",
    );
    expect(resolveModelSpec(undefined, { env: {}, defaultModel: "compatible:x" }, {}).ref).toBe("compatible:x");
    expect(resolveModelSpec(undefined, { env: {} }, {}).ref).toBe("openai:gpt-4o-mini");
  });

  it("turns the X-LLM-API-KEY header into llm:<provider> secrets", () => {
    expect(secretKeyFor("anthropic")).toBe("llm:anthropic");
    expect(llmSecretsFromHeader("openai:sk-1")).toEqual({ "llm:openai": "sk-1" });
    expect(llmSecretsFromHeader("OpenAI:sk-1, anthropic:ak:with:colons")).toEqual({
      "llm:openai": "sk-1",
      "llm:anthropic": "ak:with:colons",
    });
    expect(llmSecretsFromHeader("unknown:x")).toEqual({});
    expect(llmSecretsFromHeader(undefined)).toEqual({});
  });
});

describe("resolveModel", () => {
  it("hands the factory the spec with the key, and falls back to built-in providers when it returns undefined", () => {
    const ctx = testContext({ secrets: { "llm:openai": "sk-request" } });
    const seen: ModelSpec[] = [];
    const mock = new MockLanguageModelV3();
    const resolved = resolveModel(
      "openai:gpt-test",
      {
        env: {},
        modelFactory: (spec) => {
          seen.push(spec);
          return mock;
        },
      },
      ctx,
    );
    expect(resolved.model).toBe(mock);
    expect(resolved.ref).toBe("openai:gpt-test");
    expect(seen[0]?.apiKey).toBe("sk-request");
    expect(resolved.secrets).toContain("sk-request");

    const builtin = resolveModel("openai:gpt-test", { env: {}, modelFactory: () => undefined }, ctx);
    expect(builtin.model).not.toBe(mock);
  });

  it("fails without retry when a provider has no key or no base URL", () => {
    const ctx = testContext();
    for (const ref of ["openai:gpt", "anthropic:claude", "compatible:llama3"]) {
      try {
        resolveModel(ref, { env: {} }, ctx);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(TaskFailure);
        expect((err as TaskFailure).code).toBe("LLM_NOT_CONFIGURED");
        expect((err as TaskFailure).retryable).toBe(false);
      }
    }
  });

  it("uses the languageModel option for every reference", () => {
    const mock = new MockLanguageModelV3();
    expect(resolveModel("anthropic:x", { env: {}, languageModel: mock }, testContext()).model).toBe(mock);
  });
});
