/** @aipartnerupflow/distributed: many nodes sharing one PostgreSQL (README). */
export { Node, type NodeOptions } from "./node.js";
export { Coordinator, type CoordinatorOptions } from "./coordinator.js";
export {
  COORDINATOR_LOCK_KEY,
  type Election,
  electionFor,
  LocalElection,
  PostgresAdvisoryElection,
} from "./election.js";
export { pidGone } from "./pid.js";
export { NODE_ENV, type NodeEnvConfig, nodeConfigFromEnv } from "./env.js";

// Wake-ups and cross-node events (src/wakeup/).
export * from "./wakeup/index.js";
