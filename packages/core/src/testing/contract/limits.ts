import { expect } from "vitest";
import { ValidationError } from "../../errors.js";
import { type LimitRule, type LimitStore, limitsOf } from "../../limits/types.js";
import type { TaskStore } from "../../store/types.js";
import { describeFacetContract, type FacetCheck, type FacetContractOptions } from "./facet-suite.js";

/**
 * The limits facet (`store.limits`): rules set, read, listed and deleted; bad rules refused with
 * the field named. What the claim does with them is in limits-claim.ts (the store contract).
 */
export type LimitsCheck = FacetCheck<LimitStore>;

async function refusedAt(p: Promise<unknown>, path: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, "expected the rule to be refused").toBeInstanceOf(ValidationError);
  expect((err as ValidationError).code).toBe(-32602);
  expect((err as ValidationError).errors.map((e) => e.path)).toContain(path);
}

export const limitsContractChecks: LimitsCheck[] = [
  {
    name: "limits: set returns the rule, get reads it back, unknown ones are null",
    async run(limits) {
      expect(await limits.list()).toEqual([]);
      const rule = {
        scope: "user",
        key: "u1",
        maxRunning: 2,
        maxRunningRoots: 1,
        rate: { starts: 5, perMs: 60_000 },
      } as const;
      expect(await limits.set(rule)).toEqual(rule);
      expect(await limits.get("user", "u1")).toEqual(rule);
      expect(await limits.get("user")).toBeNull();
      expect(await limits.get("executor", "u1")).toBeNull();
    },
  },
  {
    name: "limits: setting (scope, key) again replaces the whole rule",
    async run(limits) {
      await limits.set({ scope: "executor", key: "llm", maxRunning: 3, rate: { starts: 1, perMs: 1000 } });
      await limits.set({ scope: "executor", key: "llm", maxRunning: 5 });
      expect(await limits.get("executor", "llm")).toEqual({ scope: "executor", key: "llm", maxRunning: 5 });
      expect(await limits.list()).toHaveLength(1);
    },
  },
  {
    name: "limits: list orders by scope (global, user, root, executor), the default first, then key; filters by scope",
    async run(limits) {
      const rules: LimitRule[] = [
        { scope: "executor", key: "b", maxRunning: 1 },
        { scope: "user", key: "zed", maxRunning: 1 },
        { scope: "root", maxRunning: 4 },
        { scope: "user", maxRunning: 2 },
        { scope: "executor", key: "a", rate: { starts: 2, perMs: 10 } },
        { scope: "global", maxRunning: 100 },
        { scope: "user", key: "amy", maxRunningRoots: 1 },
      ];
      for (const r of rules) await limits.set(r);
      expect((await limits.list()).map((r) => `${r.scope}:${r.key ?? "*"}`)).toEqual([
        "global:*",
        "user:*",
        "user:amy",
        "user:zed",
        "root:*",
        "executor:a",
        "executor:b",
      ]);
      expect(await limits.list({ scope: "executor" })).toEqual([
        { scope: "executor", key: "a", rate: { starts: 2, perMs: 10 } },
        { scope: "executor", key: "b", maxRunning: 1 },
      ]);
    },
  },
  {
    name: "limits: delete removes one rule and says whether it was there",
    async run(limits) {
      await limits.set({ scope: "user", maxRunning: 2 });
      await limits.set({ scope: "user", key: "u1", maxRunning: 1 });
      expect(await limits.delete("user", "u1")).toBe(true);
      expect(await limits.delete("user", "u1")).toBe(false);
      expect(await limits.list()).toEqual([{ scope: "user", maxRunning: 2 }]);
      expect(await limits.delete("user")).toBe(true);
      expect(await limits.list()).toEqual([]);
    },
  },
  {
    name: "limits: bad rules are refused with the field named, and nothing is stored",
    async run(limits) {
      const set = (rule: unknown) => limits.set(rule as LimitRule);
      await refusedAt(set({ scope: "team", maxRunning: 1 }), "scope");
      await refusedAt(set({ scope: "global", maxRunning: 0 }), "maxRunning");
      await refusedAt(set({ scope: "global", maxRunning: 1.5 }), "maxRunning");
      await refusedAt(set({ scope: "global", key: "x", maxRunning: 1 }), "key");
      await refusedAt(set({ scope: "root", maxRunningRoots: 1 }), "maxRunningRoots");
      await refusedAt(set({ scope: "root", rate: { starts: 1, perMs: 1 } }), "rate");
      await refusedAt(set({ scope: "user", rate: { starts: 1, perMs: 0 } }), "rate.perMs");
      await refusedAt(set({ scope: "user", rate: { starts: 0, perMs: 10 } }), "rate.starts");
      await refusedAt(set({ scope: "user" }), "maxRunning");
      await refusedAt(set({ scope: "user", key: "", maxRunning: 1 }), "key");
      await refusedAt(set({ scope: "user", maxRunning: 1, extra: true }), "");
      await refusedAt(limits.get("nope" as never), "scope");
      expect(await limits.list()).toEqual([]);
    },
  },
];

/** Run the limits facet's contract; every check gets a fresh store. */
export function describeLimitsContract(
  name: string,
  createStore: () => Promise<TaskStore> | TaskStore,
  options: FacetContractOptions = {},
): void {
  describeFacetContract(`limits contract: ${name}`, limitsContractChecks, createStore, options, (store) => {
    const facet = limitsOf(store);
    if (!facet) throw new Error("this store has no limits facet");
    return facet;
  });
}
