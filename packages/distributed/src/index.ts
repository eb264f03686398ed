/** @aipartnerupflow/distributed: many nodes sharing one PostgreSQL (being built; see README). */
export const DISTRIBUTED_PACKAGE = "@aipartnerupflow/distributed";
