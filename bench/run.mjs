// `pnpm bench`: every benchmark under bench/, each printing its figures (the performance targets in bench/README.md).
// Run after `pnpm build`; the root script does both. Figures are printed, never asserted.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const suites = [
  ["engine on MemoryStore", "./engine-memory.mjs"],
  ["storage-prisma (SQLite, PostgreSQL)", "./storage-prisma.mjs"],
  ["api server (tasks.get)", "./api.mjs"],
  ["wake-ups across processes (PostgreSQL NOTIFY, Redis, NATS, RabbitMQ, polling)", "./wakeups.mjs"],
  ["limits on vs off (PostgreSQL claim)", "./limits.mjs"],
  ["kill-one-worker recovery (3 apflow worker processes, PostgreSQL)", "./recovery.mjs"],
];

const only = process.argv[2];
let failures = 0;
for (const [title, file] of suites) {
  if (only && !file.includes(only)) continue;
  if (!existsSync(here(file))) {
    console.log(`\n[${title}] not present, skipped`);
    continue;
  }
  console.log(`\n===== ${title} =====`);
  try {
    const mod = await import(file);
    await mod.run();
  } catch (err) {
    failures++;
    console.error(`[${title}] failed:`, err);
  }
}
process.exitCode = failures > 0 ? 1 : 0;
