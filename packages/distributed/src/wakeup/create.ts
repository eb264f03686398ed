import { ApflowError, ErrorCode } from "@aipartnerupflow/core";
import { AmqpTransport } from "./amqp.js";
import { NatsTransport } from "./nats.js";
import { PollingTransport } from "./polling.js";
import { PostgresTransport } from "./postgres.js";
import { RedisTransport } from "./redis.js";
import type { WakeupTransport } from "./transport.js";

export interface WakeupTransportConfig {
  /**
   * Which transport (`APFLOW_WAKEUPS`): `postgres` (LISTEN/NOTIFY on the store's database,
   * notified by its trigger, or by the nodes where it is missing), `postgres-app` (always by the
   * nodes), a `redis://`,
   * `nats://` or `amqp://` URL, or `polling`. Default: `postgres` when the store is on
   * PostgreSQL, `polling` otherwise.
   */
  spec?: string | undefined;
  /** The store's database URL (needed by `postgres`). */
  databaseUrl?: string | undefined;
  /** Poll interval of the `polling` transport (default 1000 ms). */
  pollMs?: number;
}

const isPostgresUrl = (url: string | undefined): boolean => url !== undefined && /^postgres(ql)?:\/\//i.test(url);

/** The transport a configuration names, with a typed error naming `APFLOW_WAKEUPS` when it is unknown. */
export function createWakeupTransport(config: WakeupTransportConfig = {}): WakeupTransport {
  const spec = config.spec?.trim() || (isPostgresUrl(config.databaseUrl) ? "postgres" : "polling");
  const postgres = (mode: "auto" | "app"): WakeupTransport => {
    const url = isPostgresUrl(spec) ? spec : config.databaseUrl;
    if (!isPostgresUrl(url)) {
      throw new ApflowError(
        ErrorCode.InvalidParams,
        `APFLOW_WAKEUPS: "${spec}" needs the store on PostgreSQL (DATABASE_URL postgres://...)`,
      );
    }
    return new PostgresTransport({ url: url as string, mode });
  };
  if (spec === "postgres" || spec === "pg" || isPostgresUrl(spec)) return postgres("auto");
  if (spec === "postgres-app") return postgres("app");
  if (/^rediss?:\/\//i.test(spec)) return new RedisTransport({ url: spec });
  if (/^nats:\/\//i.test(spec)) return new NatsTransport({ url: spec });
  if (/^amqps?:\/\//i.test(spec)) return new AmqpTransport({ url: spec });
  if (spec === "polling" || spec === "poll" || spec === "none") return new PollingTransport(config.pollMs ?? 1000);
  throw new ApflowError(
    ErrorCode.InvalidParams,
    `APFLOW_WAKEUPS: unknown wake-up transport "${spec}" (postgres, postgres-app, redis://…, nats://…, amqp://…, polling)`,
  );
}

/**
 * A node's wake-up transport from its settings, or null for none: `APFLOW_WAKEUPS` unset on a
 * store that is not on PostgreSQL (one process on SQLite: the engine's poll is enough), or set to
 * `none`/`off`. Otherwise as `createWakeupTransport`.
 */
export function wakeupTransportFor(config: WakeupTransportConfig = {}): WakeupTransport | null {
  const spec = config.spec?.trim();
  if (spec && /^(none|off|0|false)$/i.test(spec)) return null;
  if (!spec && !isPostgresUrl(config.databaseUrl)) return null;
  return createWakeupTransport(config);
}
