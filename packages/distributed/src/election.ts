import pg from "pg";

/**
 * Who coordinates. `tryAcquire` takes the role if nobody holds it; `holds` checks that it is
 * still held (the session that holds it may have died); `release` gives it up.
 */
export interface Election {
  readonly kind: string;
  tryAcquire(): Promise<boolean>;
  holds(): Promise<boolean>;
  release(): Promise<void>;
  /**
   * End the current holder's hold (its node is dead by the registry but its session lives on: a
   * stalled or partitioned process). Optional; true when a holder was evicted.
   */
  evict?(): Promise<boolean>;
}

/** The single process on an embedded store (SQLite, memory) is the coordinator. */
export class LocalElection implements Election {
  readonly kind = "local";
  private held = false;
  async tryAcquire(): Promise<boolean> {
    this.held = true;
    return true;
  }
  async holds(): Promise<boolean> {
    return this.held;
  }
  async release(): Promise<void> {
    this.held = false;
  }
}

/** The advisory lock key of the coordinator role (one per database; any 64-bit number works). */
export const COORDINATOR_LOCK_KEY = 4_242_012_012n;

/**
 * The coordinator role as a PostgreSQL session-level advisory lock (`pg_try_advisory_lock`) held
 * on a dedicated connection: the role lasts exactly as long as that session, so a coordinator
 * that dies (or whose connection drops) releases it, and any other node takes it on its next try.
 */
export class PostgresAdvisoryElection implements Election {
  readonly kind = "postgres-advisory-lock";
  private client: pg.Client | null = null;
  private held = false;

  constructor(
    private readonly url: string,
    private readonly key: bigint = COORDINATOR_LOCK_KEY,
  ) {}

  private async session(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
    client.on("error", () => this.drop(client));
    client.on("end", () => this.drop(client));
    await client.connect();
    this.client = client;
    return client;
  }

  private drop(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.held = false;
    client.end().catch(() => undefined);
  }

  async tryAcquire(): Promise<boolean> {
    if (this.held) return this.holds();
    let client: pg.Client | undefined;
    try {
      client = await this.session();
      const { rows } = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [
        this.key.toString(),
      ]);
      this.held = rows[0]?.ok === true;
      return this.held;
    } catch {
      if (client) this.drop(client);
      return false;
    }
  }

  async holds(): Promise<boolean> {
    const client = this.client;
    if (!this.held || !client) return false;
    try {
      // The lock is the session's: a live session that took it still holds it.
      await client.query("SELECT 1");
      return this.held;
    } catch {
      this.drop(client);
      return false;
    }
  }

  /**
   * Terminate the session holding the lock (a session-level advisory lock on a bigint key shows in
   * `pg_locks` as classid = high 32 bits, objid = low 32 bits, objsubid = 1).
   */
  async evict(): Promise<boolean> {
    try {
      const client = await this.session();
      const { rows } = await client.query<{ done: boolean }>(
        `SELECT pg_terminate_backend(pid) AS done FROM pg_locks
          WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid AND pid <> pg_backend_pid()`,
        [this.key.toString()],
      );
      return rows.some((r) => r.done);
    } catch {
      return false;
    }
  }

  async release(): Promise<void> {
    const client = this.client;
    this.held = false;
    this.client = null;
    if (!client) return;
    await client.query("SELECT pg_advisory_unlock_all()").catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** The election for a database URL: an advisory lock on PostgreSQL, the local process otherwise. */
export function electionFor(databaseUrl: string | undefined): Election {
  return databaseUrl && /^postgres(ql)?:\/\//i.test(databaseUrl)
    ? new PostgresAdvisoryElection(databaseUrl)
    : new LocalElection();
}
