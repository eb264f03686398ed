import { cancelChecks } from "./cancel.js";
import { claimChecks } from "./claim.js";
import { createChecks } from "./create.js";
import { eventChecks } from "./events.js";
import { finishChecks } from "./finish.js";
import { leaseChecks } from "./leases.js";
import { nextDueChecks } from "./next-due.js";
import { placementChecks } from "./placement.js";
import { claimConditionChecks, limitClaimChecks } from "./limits-claim.js";
import { queryChecks } from "./queries.js";
import { startChecks } from "./start.js";
import type { StoreCheck } from "./support.js";
import { updateDeleteChecks } from "./update-delete.js";
import { waitChecks } from "./waits.js";

export { STORE_FAMILIES, type StoreCheck, type StoreFamily } from "./support.js";

/** Every check of the store contract, family by family (one file per family of operations). */
export const storeContractChecks: StoreCheck[] = [
  ...createChecks,
  ...startChecks,
  ...claimChecks,
  ...nextDueChecks,
  ...claimConditionChecks,
  ...finishChecks,
  ...leaseChecks,
  ...cancelChecks,
  ...eventChecks,
  ...queryChecks,
  ...updateDeleteChecks,
  ...waitChecks,
  ...limitClaimChecks,
  ...placementChecks,
];
