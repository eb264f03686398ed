import { format } from "node:util";
import type { Logger } from "@aipartnerupflow/core";
import type { OutStream } from "./io.js";

/**
 * The engine's logger in local mode: warnings and errors (a hook that failed, an LLM provider's
 * warning) as one plain line each on stderr, so they never mix with the output on stdout
 * (`--json` included). Debug and info lines only with `APFLOW_DEBUG`.
 */
export function stderrLogger(stderr: OutStream, options: { debug?: boolean } = {}, bindings: object = {}): Logger {
  const line =
    (level: "debug" | "info" | "warn" | "error") =>
    (obj: object | string, msg?: string): void => {
      if ((level === "debug" || level === "info") && !options.debug) return;
      const fields = typeof obj === "string" ? {} : (obj as Record<string, unknown>);
      const text = typeof obj === "string" ? obj : (msg ?? "");
      const err = fields.err instanceof Error ? `: ${fields.err.message}` : "";
      const task = (bindings as { taskId?: unknown }).taskId;
      const where = typeof task === "string" ? ` (task ${task})` : "";
      const label = level === "warn" ? "warning" : level;
      stderr.write(`${label}: ${text}${err}${where}\n`);
    };
  return {
    debug: line("debug"),
    info: line("info"),
    warn: line("warn"),
    error: line("error"),
    child: (more) => stderrLogger(stderr, options, { ...bindings, ...more }),
  };
}

const CONSOLE_OUT = ["log", "info", "debug"] as const;

/**
 * While a command prints JSON, stdout carries nothing else: whatever a library writes with
 * `console.log`/`info`/`debug` goes to stderr instead. Returns the function that undoes it.
 */
export function keepStdoutForJson(stderr: OutStream): () => void {
  const saved = CONSOLE_OUT.map((name) => [name, console[name]] as const);
  for (const name of CONSOLE_OUT) {
    console[name] = (...args: unknown[]) => void stderr.write(`${format(...args)}\n`);
  }
  return () => {
    for (const [name, fn] of saved) console[name] = fn;
  };
}
