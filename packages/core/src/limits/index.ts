export * from "./types.js";
export { limitRuleSchema, parseLimitRule, parseLimitKey, parseLimitRules, normalizeRule } from "./rule.js";
export {
  availableTokens,
  bucketKey,
  type BucketState,
  type LimitBlock,
  LimitGate,
  type LimitSubject,
  RuleBook,
} from "./gate.js";
export { MemoryLimitStore } from "./memory.js";
export { describeLimitBlock, limitBlockFor, limitCheckFor, limitSubjectOf, nextRefillAt } from "./why.js";
export {
  bucketMap,
  countLimitBlocked,
  type LimitBlockedGroup,
  nextRefillMs,
  type StoredBucket,
  type SubjectCount,
} from "./blocked.js";
