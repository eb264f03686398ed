import { afterEach, beforeEach, describe, it } from "vitest";
import { type StoreCheck, storeContractChecks } from "./store/contract.js";
import type { TaskStore } from "./store/types.js";

export { storeContractChecks, type StoreCheck };

export interface StoreContractOptions {
  /** Called after each check with the store it used (close it, drop its database, ...). */
  dispose?: (store: TaskStore) => Promise<void>;
  /** Per-check timeout in ms (stores over a network may need more than vitest's default). */
  timeout?: number;
}

/**
 * Run the store contract as a vitest suite: every check gets a fresh store from `createStore`.
 *
 * ```ts
 * import { describeStoreContract } from "@aipartnerupflow/core/testing";
 * describeStoreContract("my store", async () => new MyStore());
 * ```
 */
export function describeStoreContract(
  name: string,
  createStore: () => Promise<TaskStore> | TaskStore,
  options: StoreContractOptions = {},
): void {
  describe(`TaskStore contract: ${name}`, () => {
    let store: TaskStore | undefined;
    beforeEach(async () => {
      store = await createStore();
    });
    afterEach(async () => {
      if (store) await (options.dispose ? options.dispose(store) : store.close());
      store = undefined;
    });
    for (const check of storeContractChecks) {
      it(check.name, () => check.run(store as TaskStore), options.timeout);
    }
  });
}
