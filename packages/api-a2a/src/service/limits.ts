import {
  ApflowError,
  ErrorCode,
  ForbiddenError,
  type LimitRule,
  type LimitScope,
  type LimitStore,
  limitsOf,
  parseLimitKey,
  parseLimitRule,
  type TaskStore,
} from "@aipartnerupflow/core";
import type { Principal } from "../types.js";

/**
 * The limit operations of every surface (`TaskService.limits`): concurrency and start-rate rules
 * for the whole deployment, so only administrators may read or change them when auth is on
 * (with auth off every caller is the local operator). Validation errors name the `params.` field.
 */
export class LimitOperations {
  readonly #facet: LimitStore | undefined;

  constructor(store: TaskStore) {
    this.#facet = limitsOf(store);
  }

  async set(principal: Principal, rule: unknown): Promise<LimitRule> {
    const facet = this.#allowed(principal);
    return facet.set(parseLimitRule(rule, "params"));
  }

  async get(principal: Principal, scope: LimitScope, key?: string): Promise<{ rule: LimitRule | null }> {
    const facet = this.#allowed(principal);
    return { rule: await facet.get(scope, key) };
  }

  async list(principal: Principal, scope?: LimitScope): Promise<{ rules: LimitRule[] }> {
    const facet = this.#allowed(principal);
    return { rules: await facet.list(scope === undefined ? {} : { scope }) };
  }

  async delete(principal: Principal, scope: LimitScope, key?: string): Promise<{ deleted: boolean }> {
    const facet = this.#allowed(principal);
    const k = parseLimitKey(scope, key);
    return { deleted: await facet.delete(k.scope, k.key) };
  }

  #allowed(principal: Principal): LimitStore {
    if (principal.authenticated && !principal.admin) throw new ForbiddenError("only admins may read or change limits");
    if (!this.#facet) throw new ApflowError(ErrorCode.Unavailable, "this store keeps no limits");
    return this.#facet;
  }
}
