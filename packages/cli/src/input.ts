import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { usageError } from "./errors.js";

/** Read all of a stream as UTF-8. */
export async function readStream(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Read a task file (`-` is standard input) and return the flat task array: a bare array, or an
 * object with a `tasks` array. Missing file, invalid JSON and another shape are usage errors.
 */
export async function readTasksInput(
  source: string,
  cwd: string,
  stdin: Readable & { isTTY?: boolean },
): Promise<unknown[]> {
  let text: string;
  let label: string;
  if (source === "-") {
    label = "standard input";
    if (stdin.isTTY)
      throw usageError(
        "reading tasks from standard input, but it is a terminal: pipe a JSON file in, or pass a file name",
      );
    text = await readStream(stdin);
  } else {
    const path = resolve(cwd, source);
    label = path;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw usageError(`file not found: ${path}`);
      if (code === "EISDIR") throw usageError(`${path} is a directory, not a task file`);
      throw usageError(`cannot read ${path}: ${(err as Error).message}`);
    }
  }
  return parseTasksJson(text, label);
}

export function parseTasksJson(text: string, label: string): unknown[] {
  if (text.trim() === "") throw usageError(`${label} is empty: expected a JSON array of tasks or {"tasks": [...]}`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw usageError(`invalid JSON in ${label}: ${(err as Error).message}`);
  }
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === "object" && Array.isArray((value as { tasks?: unknown }).tasks)) {
    return (value as { tasks: unknown[] }).tasks;
  }
  throw usageError(`${label} must hold a JSON array of tasks or an object with a "tasks" array`);
}

/** Parse a JSON object given on the command line (`--inputs '{"a":1}'`). */
export function parseJsonObject(text: string, option: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw usageError(`${option} must be JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw usageError(`${option} must be a JSON object`);
  return value as Record<string, unknown>;
}
