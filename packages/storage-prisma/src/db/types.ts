/**
 * The narrow SQL interface the store's hot paths run on. Two implementations: SQLite through the
 * embedded `libsql` driver (synchronous, prepared statements cached) and PostgreSQL through a `pg`
 * pool. SQL is written with `?` placeholders; the PostgreSQL driver numbers them (`$1`, `$2`).
 */
export type Dialect = "sqlite" | "postgres";

/** A bound parameter. Dates become the dialect's timestamp, booleans its boolean. */
export type SqlValue = string | number | bigint | boolean | Date | null;

export type SqlRow = Record<string, unknown>;

export interface SqlSession {
  readonly dialect: Dialect;
  /** Run a statement that returns rows (SELECT, or a write with RETURNING). */
  all<T extends object = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /**
   * Run a statement that returns rows, each as an array of column values in SELECT order (no
   * per-row objects: cheaper in both drivers). `prepared`: the SQL text is one of a small fixed
   * set, so PostgreSQL may keep it as a named prepared statement per connection (SQLite caches
   * every prepared statement anyway).
   */
  values(sql: string, params?: readonly SqlValue[], prepared?: boolean): Promise<unknown[][]>;
  /** Run a statement and return the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Run a script of several statements without parameters (migrations). */
  script(sql: string): Promise<void>;
}

export interface SqlDatabase extends SqlSession {
  /**
   * Run `work` in one write transaction: committed when it resolves, rolled back when it throws.
   * Transactions of one process are serialized; on SQLite the write lock is taken at BEGIN.
   */
  transaction<T>(work: (tx: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
