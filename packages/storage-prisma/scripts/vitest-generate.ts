import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** vitest global setup: generate the Prisma clients if this checkout has none yet. */
export default function setup(): void {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..");
  const generated = ["sqlite", "postgres"].every((p) => existsSync(join(root, "src", "generated", p, "client.ts")));
  if (!generated) execFileSync(process.execPath, [join(root, "scripts", "generate.mjs")], { stdio: "inherit" });
}
