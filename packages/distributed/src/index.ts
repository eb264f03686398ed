/** @aipartnerupflow/distributed: many nodes sharing one PostgreSQL (being built; see README). */
export const DISTRIBUTED_PACKAGE = "@aipartnerupflow/distributed";

// Wake-ups and cross-node events (src/wakeup/).
export * from "./wakeup/index.js";
