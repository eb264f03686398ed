import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TaskPage } from "@aipartnerupflow/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunReport } from "../execution.js";
import { EXAMPLES, parseJson, runCli, startServe, tempDir } from "../test-util/cli.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const HELLO = join(EXAMPLES, "hello-world.json");

async function roots(env: Record<string, string> = {}): Promise<number> {
  return parseJson<TaskPage>(await runCli(["tasks", "list", "--roots", "--json"], { cwd: dir, env })).total;
}

/** Two runs with one key, and a third with the key and another file; then `tasks execute` twice with a key. */
async function exercise(env: Record<string, string>): Promise<void> {
  const first = await runCli(["run", HELLO, "--idempotency-key", "hello-1", "--json"], { cwd: dir, env });
  expect(first.code).toBe(0);
  const again = await runCli(["run", HELLO, "--idempotency-key", "hello-1", "--json"], { cwd: dir, env });
  expect(again.code).toBe(0);
  const a = parseJson<RunReport>(first).trees[0];
  const b = parseJson<RunReport>(again).trees[0];
  expect(b?.rootId).toBe(a?.rootId);
  expect(b?.executionId).toBe(a?.executionId);
  expect(b?.status).toBe("completed");
  expect(await roots(env)).toBe(1);

  const other = join(dir, "other.json");
  writeFileSync(other, JSON.stringify([{ name: "other", params: { executorId: "system_info" }, inputs: {} }]));
  const reused = await runCli(["run", other, "--idempotency-key", "hello-1"], { cwd: dir, env });
  expect(reused.code).toBe(2);
  expect(reused.stderr).toContain("idempotencyKey");
  expect(await roots(env)).toBe(1);

  const rootId = a?.rootId as string;
  const run1 = await runCli(["tasks", "execute", rootId, "--all", "--idempotency-key", "again-1", "--json"], {
    cwd: dir,
    env,
  });
  const run2 = await runCli(["tasks", "execute", rootId, "--all", "--idempotency-key", "again-1", "--json"], {
    cwd: dir,
    env,
  });
  expect(run1.code).toBe(0);
  expect(run2.code).toBe(0);
  const e1 = parseJson<RunReport>(run1).trees[0]?.executionId;
  expect(e1).not.toBe(a?.executionId);
  expect(parseJson<RunReport>(run2).trees[0]?.executionId).toBe(e1);
  const bad = await runCli(["tasks", "execute", rootId, "--idempotency-key", "x".repeat(201)], { cwd: dir, env });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("idempotencyKey");
}

describe("--idempotency-key", () => {
  it("local mode: apflow run and apflow tasks execute run a repeated request once", async () => {
    await exercise({});
  });

  it("remote mode: the same against apflow serve", async () => {
    const server = await startServe({ cwd: dir });
    try {
      await exercise({ APFLOW_SERVER: server.url });
    } finally {
      await server.stop();
    }
  });
});
