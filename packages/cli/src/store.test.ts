import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { STACK_LINE, parseJson, runCli, tempDir } from "./test-util/cli.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

describe("the local store", () => {
  it("db migrate creates the SQLite file given by --db; db status then has nothing pending", async () => {
    const migrate = parseJson<{ applied: string[] }>(
      await runCli(["db", "migrate", "--db", "data/my.db", "--json"], { cwd: dir }),
    );
    expect(migrate.applied.length).toBeGreaterThan(0);
    expect(existsSync(join(dir, "data", "my.db"))).toBe(true);
    const again = parseJson<{ applied: string[] }>(
      await runCli(["db", "migrate", "--db", "data/my.db", "--json"], { cwd: dir }),
    );
    expect(again.applied).toEqual([]);
    const status = await runCli(["db", "status", "--db", "data/my.db"], { cwd: dir });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/applied/);
    expect(status.stdout).not.toMatch(/pending/);
  });

  it("APFLOW_DATABASE_URL chooses the database; the default is ./.apflow/apflow.db", async () => {
    await runCli(["tasks", "count"], { cwd: dir, env: { APFLOW_DATABASE_URL: "file:./other.db" } });
    expect(existsSync(join(dir, "other.db"))).toBe(true);
    expect(existsSync(join(dir, ".apflow", "apflow.db"))).toBe(false);
    await runCli(["tasks", "count"], { cwd: dir });
    expect(existsSync(join(dir, ".apflow", "apflow.db"))).toBe(true);
  });

  it("an unreachable PostgreSQL server ends with exit code 3 and a clear message", async () => {
    const r = await runCli(["tasks", "list", "--db", "postgres://apflow:secret@127.0.0.1:1/apflow"], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot open the store \(postgres postgres:\/\/apflow:\*\*\*@127\.0\.0\.1:1\/apflow\)/);
    expect(r.stderr).not.toContain("secret");
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it("an unsupported database URL is a usage error", async () => {
    const r = await runCli(["tasks", "list", "--db", "mysql://x/y"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'no store opens "mysql:" URLs (registered schemes: file:, postgres:, postgresql:); a plugin contributes one',
    );
  });
});
