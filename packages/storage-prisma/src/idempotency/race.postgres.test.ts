import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createPrismaStore } from "../store/create.js";
import { postgresReachable, requirePostgresInCi, useMigratedTestDatabase } from "../test-support/postgres.js";

const here = dirname(fileURLToPath(import.meta.url));
const PROCESSES = 4;

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

interface ChildResult {
  rootId: string;
  createReplayed: boolean;
  executionId: string;
  executeReplayed: boolean;
  status: string;
  uniqueRootId: string;
  uniqueExisting: boolean;
}

/** A child process and its stdout lines as they come. */
function startChild(url: string): { child: ChildProcess; line(match: (l: string) => boolean): Promise<string> } {
  const child = spawn(process.execPath, ["--import", "tsx", join(here, "race-child.ts"), url], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  let buffered = "";
  const lines: string[] = [];
  const waiting: Array<() => void> = [];
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      lines.push(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
    }
    for (const w of waiting.splice(0)) w();
  });
  const exited = new Promise<never>((_resolve, reject) => {
    child.on("exit", (code) => {
      for (const w of waiting.splice(0)) w();
      if (code !== 0) reject(new Error(`race child exited with ${code}`));
    });
  });
  exited.catch(() => {});
  return {
    child,
    async line(match) {
      for (;;) {
        const found = lines.find(match);
        if (found !== undefined) return found;
        if (child.exitCode !== null) await exited;
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
    },
  };
}

describe.skipIf(!reachable)("idempotency keys across processes on PostgreSQL", () => {
  const database = useMigratedTestDatabase();

  it(`${PROCESSES} processes racing the same keys make exactly one tree, one execution and one unique tree`, async () => {
    const children = Array.from({ length: PROCESSES }, () => startChild(database.url()));
    try {
      await Promise.all(children.map((c) => c.line((l) => l === "ready")));
      for (const c of children) c.child.stdin?.write("go\n");
      const results = (await Promise.all(children.map((c) => c.line((l) => l.startsWith("{"))))).map(
        (l) => JSON.parse(l) as ChildResult,
      );

      expect(new Set(results.map((r) => r.rootId)).size).toBe(1);
      expect(results.filter((r) => !r.createReplayed)).toHaveLength(1);
      expect(new Set(results.map((r) => r.executionId)).size).toBe(1);
      expect(results.filter((r) => !r.executeReplayed)).toHaveLength(1);
      expect(results.every((r) => r.status === "completed")).toBe(true);
      expect(new Set(results.map((r) => r.uniqueRootId)).size).toBe(1);
      expect(results.filter((r) => !r.uniqueExisting)).toHaveLength(1);

      const store = await createPrismaStore({ url: database.url() });
      try {
        const roots = await store.listTasks({ rootsOnly: true });
        expect(roots.tasks.map((t) => t.name).sort()).toEqual(["charge card", "nightly"]);
        expect(await store.listExecutions({ rootId: results[0]?.rootId as string })).toHaveLength(1);
        const record = await store.idempotency.getKey("alice", "order-42", new Date());
        expect(record?.response).toEqual({ rootIds: [results[0]?.rootId], existing: [] });
      } finally {
        await store.close();
      }
    } finally {
      for (const c of children) if (c.child.exitCode === null) c.child.kill("SIGKILL");
    }
  }, 60_000);
});
