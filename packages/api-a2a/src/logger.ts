import type { Logger } from "@aipartnerupflow/core";
import pino from "pino";

/** Paths pino blanks out wherever they appear in a log record. */
export const REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  'headers["x-llm-api-key"]',
  '*.headers["x-llm-api-key"]',
  "secrets",
  "*.secrets",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "apiKey",
  "*.apiKey",
];

export interface LoggerOptions {
  level?: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  /** Where JSON lines go (default stdout). */
  destination?: NodeJS.WritableStream;
}

/** A pino logger (JSON lines) that never prints credentials; it satisfies core's `Logger`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const opts = { level: options.level ?? "info", redact: { paths: REDACT_PATHS, censor: "[redacted]" } };
  const logger = options.destination ? pino(opts, options.destination as pino.DestinationStream) : pino(opts);
  OWN_LOGGERS.add(logger);
  return logger as unknown as Logger;
}

/** Loggers made by `createLogger`: pino with exactly `REDACT_PATHS` (and nothing else to apply). */
const OWN_LOGGERS = new WeakSet<object>();

/**
 * A logger for records whose keys are fixed and whose values are all primitives (the access
 * line): `REDACT_PATHS` name keys, so they can never match such a record, and pino's per-value
 * redaction pass (a sizeable share of a log call) is skipped. Only for loggers made by
 * `createLogger`; any other logger is returned as it is, with whatever redaction it was given.
 * The returned logger follows the level of the one given.
 */
export function primitiveRecordLogger(logger: Logger): Logger {
  if (!OWN_LOGGERS.has(logger)) return logger;
  return (logger as unknown as pino.Logger).child({}, { redact: { paths: [] } }) as unknown as Logger;
}
