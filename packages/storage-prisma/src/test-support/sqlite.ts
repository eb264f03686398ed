import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveDatabase } from "../config.js";
import { openDatabase } from "../db/open.js";
import { createPrismaStore } from "../store/create.js";
import type { PrismaTaskStore } from "../store/prisma-store.js";

/** A temporary folder for SQLite files, removed by `remove()`. */
export function tempDir(
  prefix = "apflow-sqlite-",
  base = tmpdir(),
): { path: string; file(name?: string): string; remove(): void } {
  const path = mkdtempSync(join(base, prefix));
  let n = 0;
  return {
    path,
    file: (name) => join(path, name ?? `store-${++n}.db`),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}

/**
 * One migrated SQLite store reused by many short sequences (the differential check): `empty()`
 * deletes every row through a second connection and hands the store back, empty.
 */
export async function reusableSqliteStore(file: string): Promise<{
  empty(): Promise<PrismaTaskStore>;
  close(): Promise<void>;
}> {
  const store = await createPrismaStore({ url: file });
  const { db } = openDatabase(resolveDatabase(file));
  return {
    async empty() {
      await db.transaction(async (tx) => {
        for (const table of ["task_dependencies", "attempts", "events", "executions", "tasks"]) {
          await tx.run(`DELETE FROM ${table}`);
        }
      });
      return store;
    },
    async close() {
      await db.close();
      await store.close();
    },
  };
}

/** A memory-backed folder when the system has one (Linux /dev/shm): many short commits, no disk waits. */
export function memoryBackedTempDir(prefix = "apflow-sqlite-"): ReturnType<typeof tempDir> {
  return tempDir(prefix, existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
}
