import { describeFacetContract, type FacetContractOptions } from "./contract/facet-suite.js";
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
  options: FacetContractOptions = {},
): void {
  describeFacetContract(`ScheduleStore contract: ${name}`, scheduleContractChecks, createStore, options, facet);
}

function facet(store: TaskStore): ScheduleStore {
  const schedules = schedulesOf(store);
  if (!schedules) throw new Error("this store has no schedules facet (store.schedules)");
  return schedules;
}
