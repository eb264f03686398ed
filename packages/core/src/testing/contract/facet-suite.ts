import { afterEach, beforeEach, describe, it } from "vitest";
import type { TaskStore } from "../../store/types.js";

/** How a facet's contract suite treats its stores. */
export interface FacetContractOptions {
  /** Called after each check with the store it used (default: `close()`). */
  dispose?: (store: TaskStore) => Promise<void>;
  timeout?: number;
}

/** One check of a facet's contract, run on what `subjectOf` takes from a fresh store. */
export interface FacetCheck<S> {
  name: string;
  run(subject: S): Promise<void>;
}

/**
 * Run a store facet's contract (schedules, idempotency, A2A state, queue stats) as a vitest suite:
 * every check gets a fresh store from `createStore`, closed (or disposed) after it.
 */
export function describeFacetContract<S>(
  title: string,
  checks: readonly FacetCheck<S>[],
  createStore: () => Promise<TaskStore> | TaskStore,
  options: FacetContractOptions,
  subjectOf: (store: TaskStore) => S,
): void {
  describe(title, () => {
    let store: TaskStore | undefined;
    beforeEach(async () => {
      store = await createStore();
    });
    afterEach(async () => {
      if (store) await (options.dispose ? options.dispose(store) : store.close());
      store = undefined;
    });
    for (const check of checks) it(check.name, () => check.run(subjectOf(store as TaskStore)), options.timeout);
  });
}
