import { TaskFailure } from "@aipartnerupflow/core";
import { describe, expect, it } from "vitest";
import { makeContext } from "./testing/context.js";
import { readSystemInfo, systemInfoDemoResult, systemInfoExecutor, systemInfoResultSchema } from "./system-info.js";

const run = (inputs: Record<string, unknown>) =>
  Promise.resolve(systemInfoExecutor.execute(inputs as never, makeContext().ctx));

describe("system_info", () => {
  it("reads every section by default, each with plausible values", async () => {
    const info = await run({});
    expect(systemInfoResultSchema.parse(info)).toEqual(info);
    expect(info.cpu?.count).toBeGreaterThan(0);
    expect(info.memory?.totalBytes).toBeGreaterThan(info.memory?.freeBytes ?? Number.POSITIVE_INFINITY);
    expect(info.disk?.totalBytes).toBeGreaterThan(0);
    expect(info.disk?.availableBytes).toBeLessThanOrEqual(info.disk?.freeBytes ?? 0);
    expect(info.os?.platform).toBe(process.platform);
    expect(info.node).toMatchObject({ version: process.version, pid: process.pid });
    expect(Number.isNaN(Date.parse(info.collectedAt))).toBe(false);
  });

  it("returns only the requested section", async () => {
    for (const resource of ["cpu", "memory", "disk", "os", "node"] as const) {
      const info = await run({ resource });
      expect(Object.keys(info).sort(), resource).toEqual([resource, "collectedAt"].sort());
    }
  });

  it("measures the file system of a given path", async () => {
    const info = await readSystemInfo("disk", process.cwd());
    expect(info.disk?.path).toBe(process.cwd());
    expect(info.disk?.usedPercent).toBeGreaterThanOrEqual(0);
    expect(info.disk?.usedPercent).toBeLessThanOrEqual(100);
  });

  it("fails clearly on a path that does not exist, and on an unknown section", async () => {
    await expect(run({ resource: "disk", path: "/definitely/not/here" })).rejects.toMatchObject({
      code: "SYSTEM_INFO_DISK_UNAVAILABLE",
      retryable: false,
    });
    const err = await run({ resource: "gpu" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailure);
    expect((err as TaskFailure).code).toBe("INVALID_INPUTS");
  });

  it("declares a demo result that matches its output schema, per section too", () => {
    expect(systemInfoResultSchema.parse(systemInfoDemoResult)).toEqual(systemInfoDemoResult);
    const demo = systemInfoExecutor.demoResult;
    if (typeof demo !== "function") throw new Error("demoResult should depend on the requested section");
    const memoryOnly = demo({ resource: "memory" });
    expect(Object.keys(memoryOnly).sort()).toEqual(["collectedAt", "memory"]);
  });
});
