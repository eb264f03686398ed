// Printed at the end of `pnpm bench`: where the side-by-side figures are, and the last table.
import { existsSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const last = fileURLToPath(new URL("../results/peers-last.md", import.meta.url));
console.log("\n===== peers (graphile-worker, pg-boss, BullMQ) =====");
console.log(
  "Not run by `pnpm bench`: `pnpm bench:peers` runs W1–W4 against the peers on the local PostgreSQL and " +
    "Redis (about 6–10 minutes on 2 cores); the table of the last committed run is in bench/README.md.",
);
if (existsSync(last)) {
  const text = readFileSync(last, "utf8");
  // The heading line and the main table (up to the first blank line after it).
  const [heading, , ...rest] = text.split("\n");
  const end = rest.indexOf("");
  console.log(`\nLast local run (${statSync(last).mtime.toISOString()}):\n${heading}\n`);
  console.log(rest.slice(0, end < 0 ? rest.length : end).join("\n"));
} else {
  console.log("No local run yet (bench/results/peers-last.md appears after `pnpm bench:peers`).");
}
