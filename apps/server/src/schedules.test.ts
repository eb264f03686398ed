import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApflowClient, createLogger } from "@aipartnerupflow/api-a2a";
import { afterAll, describe, expect, it, vi } from "vitest";
import { DEFAULTS } from "./config.js";
import { startApflowServer } from "./server.js";

const dir = mkdtempSync(join(tmpdir(), "apflow-server-schedules-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("apps/server runs schedules", () => {
  it("fires a stored schedule at its time: the scheduler starts beside the engine", { timeout: 60_000 }, async () => {
    const server = await startApflowServer(
      { ...DEFAULTS, port: 0, databaseUrl: `file:${join(dir, "apflow.db")}` },
      { logger: createLogger({ level: "silent" }) },
    );
    try {
      const client = new ApflowClient({ url: server.url });
      const at = new Date(Date.now() + 1500).toISOString();
      const schedule = await client.call<{ id: string; nextFireAt: string }>("schedules.create", {
        name: "soon",
        tasks: [{ name: "info", params: { executorId: "system_info" } }],
        trigger: { type: "once", at },
      });
      expect(schedule.nextFireAt).toBe(at);
      await vi.waitFor(
        async () => {
          const { runs } = await client.call<{ runs: Array<{ fireAt: string; status: string }> }>("schedules.runs", {
            scheduleId: schedule.id,
          });
          expect(runs).toEqual([expect.objectContaining({ fireAt: at, status: "completed", manual: false })]);
        },
        { timeout: 30_000, interval: 100 },
      );
      expect(
        (await client.call<{ nextFireAt: string | null }>("schedules.get", { scheduleId: schedule.id })).nextFireAt,
      ).toBeNull();
      // The ticking scheduler's firing is counted by the app's queue metrics.
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toContain(`apflow_schedule_firings_total{schedule="${schedule.id}"} 1`);
      const stats = await client.call<{ scheduleFirings: unknown }>("tasks.queue.stats", {});
      expect(stats.scheduleFirings).toEqual([{ scheduleId: schedule.id, count: 1 }]);
    } finally {
      await server.close();
    }
  });
});
