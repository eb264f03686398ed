import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApflowClient, createLogger } from "@aipartnerupflow/api-a2a";
import { describe, expect, it } from "vitest";
import { DEFAULTS, loadConfig } from "./config.js";
import { startApflowServer } from "./server.js";

describe("APFLOW_LIMITS", () => {
  it("is read as a JSON array of rules; bad JSON or a bad rule is a startup error naming it", () => {
    expect(loadConfig({ APFLOW_LIMITS: '[{"scope":"global","maxRunning":4}]' }).limits).toEqual([
      { scope: "global", maxRunning: 4 },
    ]);
    expect(loadConfig({}).limits).toEqual([]);
    expect(() => loadConfig({ APFLOW_LIMITS: "[{scope:" })).toThrow(
      /APFLOW_LIMITS is not a valid list of limit rules: APFLOW_LIMITS: .*not JSON/,
    );
    expect(() => loadConfig({ APFLOW_LIMITS: '[{"scope":"user","rate":{"starts":0,"perMs":10}}]' })).toThrow(
      /APFLOW_LIMITS\[0\]\.rate\.starts/,
    );
  });

  it("the server sets the rules in its store at start", { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "apflow-server-limits-"));
    const server = await startApflowServer(
      {
        ...DEFAULTS,
        port: 0,
        plugins: [],
        databaseUrl: `file:${join(dir, "apflow.db")}`,
        limits: [
          { scope: "user", maxRunning: 2 },
          { scope: "executor", key: "llm", maxRunning: 3 },
        ],
      },
      { logger: createLogger({ level: "silent" }) },
    );
    try {
      const client = new ApflowClient({ url: server.url });
      expect((await client.call<{ rules: unknown[] }>("limits.list", {})).rules).toEqual([
        { scope: "user", maxRunning: 2 },
        { scope: "executor", key: "llm", maxRunning: 3 },
      ]);
    } finally {
      await server.close();
    }
  });
});
