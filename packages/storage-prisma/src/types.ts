/** Public options and results of @aipartnerupflow/storage-prisma. */

export type Provider = "sqlite" | "postgres";

export interface PrismaStoreOptions {
  /**
   * `postgres://…` / `postgresql://…` for PostgreSQL; `file:<path>` or a plain path for SQLite.
   * Default: `APFLOW_DATABASE_URL`, then `DATABASE_URL`, then `./.apflow/apflow.db`.
   */
  url?: string;
  /**
   * Apply pending migrations when the store opens. Default: `true` for SQLite, `false` for
   * PostgreSQL (run `migrate()` or `apflow db migrate` once per deployment). When `false`, a
   * database that is not up to date is refused with a clear error.
   */
  migrate?: boolean;
  /** SQLite: `normal` (default, WAL) survives a process crash; `full` also survives an OS crash. */
  durability?: "normal" | "full";
  /** SQLite: how long a write waits for another process holding the write lock. Default 5000. */
  busyTimeoutMs?: number;
  /** PostgreSQL: the connection pool size. Default 10. */
  poolSize?: number;
}

export interface DatabaseOptions {
  url?: string;
}
