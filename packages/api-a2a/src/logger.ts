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
  return logger as unknown as Logger;
}
