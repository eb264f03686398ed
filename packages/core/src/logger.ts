/**
 * The logger interface core writes to. It is the subset pino implements, so a pino logger can be
 * passed as is; core itself depends on no logging library.
 */
export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};

/** A logger that drops everything (the default). */
export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silentLogger,
};

/** A minimal JSON-lines logger to stderr, for scripts without pino. */
export function consoleLogger(bindings: Record<string, unknown> = {}, minLevel: Level = "info"): Logger {
  const emit = (level: Level) => (obj: object | string, msg?: string) => {
    if (LEVELS[level] < LEVELS[minLevel]) return;
    const fields = typeof obj === "string" ? { msg: obj } : { ...obj, ...(msg ? { msg } : {}) };
    process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), ...bindings, ...fields })}\n`);
  };
  return {
    debug: emit("debug"),
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    child: (more) => consoleLogger({ ...bindings, ...more }, minLevel),
  };
}

type Level = "debug" | "info" | "warn" | "error";
const LEVELS: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
