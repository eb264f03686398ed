// The wake-up transports the benchmark compares (bench/wakeups.mjs), on a channel of its own.
import { AmqpTransport, NatsTransport, PostgresTransport, RedisTransport } from "../packages/distributed/dist/index.js";

export const REDIS_URL = process.env.APFLOW_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";
export const NATS_URL = process.env.APFLOW_BENCH_NATS_URL ?? "nats://127.0.0.1:4222";
export const AMQP_URL = process.env.APFLOW_BENCH_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";

/** null: no transport, the engine's own poll (1 s) alone. */
export function makeTransport(kind, databaseUrl, channel) {
  switch (kind) {
    case "postgres":
      return new PostgresTransport({ url: databaseUrl });
    case "postgres-app":
      return new PostgresTransport({ url: databaseUrl, mode: "app" });
    case "redis":
      return new RedisTransport({ url: REDIS_URL, channel: `apflow:${channel}` });
    case "nats":
      return new NatsTransport({ url: NATS_URL, subject: `apflow.${channel}` });
    case "amqp":
      return new AmqpTransport({ url: AMQP_URL, exchange: `apflow.${channel}` });
    default:
      return null;
  }
}
