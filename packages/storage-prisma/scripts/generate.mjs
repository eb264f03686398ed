// Generates the two Prisma clients (SQLite and PostgreSQL) from one models file, offline.
//
// Prisma's CLI wants a native schema engine before any command, and `prisma generate` never runs
// it: pointing PRISMA_SCHEMA_ENGINE_BINARY at a stub keeps generation offline. Schema changes are
// shipped as committed SQL (migrations/<provider>/), never through the Prisma CLI.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const prismaCli = join(dirname(require.resolve("prisma/package.json")), "build", "index.js");
const models = readFileSync(join(root, "prisma", "models.prisma"), "utf8");

for (const provider of ["sqlite", "postgres"]) {
  const header = readFileSync(join(root, "prisma", `${provider}.prisma`), "utf8");
  const schemaDir = join(root, "generated", "schema", provider);
  mkdirSync(schemaDir, { recursive: true });
  const schemaPath = join(schemaDir, "schema.prisma");
  writeFileSync(schemaPath, `${header}\n${models}`);
  execFileSync(process.execPath, [prismaCli, "generate", "--schema", schemaPath], {
    cwd: root,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: join(root, "scripts", "schema-engine-stub.sh"),
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
      CHECKPOINT_DISABLE: "1",
    },
  });
}
