import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Dialect } from "../db/types.js";

/** One committed SQL migration: `migrations/<dialect>/<id>.sql`. */
export interface Migration {
  id: string;
  sql: string;
  checksum: string;
}

/** The package's `migrations/` folder, found from this module (src/ in tests, dist/ when built). */
export function migrationsRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, "migrations");
    if (existsSync(join(candidate, "sqlite"))) return candidate;
    dir = dirname(dir);
  }
  throw new Error("the migrations folder of @aipartnerupflow/storage-prisma was not found");
}

export function loadMigrations(dialect: Dialect, root: string = migrationsRoot()): Migration[] {
  const dir = join(root, dialect);
  return readdirSync(dir)
    .filter((name) => /^\d{4}_[a-z0-9_]+\.sql$/.test(name))
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name), "utf8").replace(/\r\n/g, "\n");
      return { id: name.slice(0, -4), sql, checksum: createHash("sha256").update(sql).digest("hex") };
    });
}
