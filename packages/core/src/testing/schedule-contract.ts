import { afterEach, beforeEach, describe, it } from "vitest";
import { type ScheduleStore, schedulesOf } from "../schedule/store-types.js";
import type { TaskStore } from "../store/types.js";
import { type ScheduleStoreCheck, scheduleContractChecks } from "./contract/schedules.js";

export { scheduleContractChecks, type ScheduleStoreCheck };

/**
 * Run the schedules facet's contract (`store.schedules`) as a vitest suite: each check gets a
 * fresh store from `createStore`, closed (or `dispose`d) after it.
 */
export function describeScheduleStoreContract(
  name: string,
  createStore: () => Promise<TaskStore> | TaskStore,
  options: { dispose?: (store: TaskStore) => Promise<void>; timeout?: number } = {},
): void {
  describe(`ScheduleStore contract: ${name}`, () => {
    let store: TaskStore | undefined;
    beforeEach(async () => {
      store = await createStore();
    });
    afterEach(async () => {
      if (store) await (options.dispose ? options.dispose(store) : store.close());
      store = undefined;
    });
    for (const check of scheduleContractChecks) {
      it(check.name, () => check.run(facet(store as TaskStore)), options.timeout);
    }
  });
}

function facet(store: TaskStore): ScheduleStore {
  const schedules = schedulesOf(store);
  if (!schedules) throw new Error("this store has no schedules facet (store.schedules)");
  return schedules;
}
