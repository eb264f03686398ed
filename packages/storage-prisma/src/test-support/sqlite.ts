import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A temporary folder for SQLite files, removed by `remove()`. */
export function tempDir(prefix = "apflow-sqlite-"): { path: string; file(name?: string): string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  let n = 0;
  return {
    path,
    file: (name) => join(path, name ?? `store-${++n}.db`),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}
