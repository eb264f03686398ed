import type { LanguageModelUsage } from "ai";
import type { TokenUsage } from "./types.js";

export const ZERO_USAGE: TokenUsage = Object.freeze({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });

/** Normalise the SDK's usage (fields may be undefined) into plain counts. */
export function toTokenUsage(usage: LanguageModelUsage | undefined): TokenUsage {
  const inputTokens = usage?.inputTokens ?? 0;
  const outputTokens = usage?.outputTokens ?? 0;
  return { inputTokens, outputTokens, totalTokens: usage?.totalTokens ?? inputTokens + outputTokens };
}

export function addUsage(...usages: TokenUsage[]): TokenUsage {
  const sum = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
  for (const u of usages) {
    sum.inputTokens += u.inputTokens;
    sum.outputTokens += u.outputTokens;
    sum.totalTokens += u.totalTokens;
  }
  return sum;
}
