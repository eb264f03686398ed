import { statfs } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type ExecutorDefinition, TaskFailure, zodIssues } from "@aipartnerupflow/core";
import { z } from "zod";
import type { CpuInfo, DiskInfo, MemoryInfo, NodeInfo, OsInfo, SystemInfoResource, SystemInfoResult } from "./types.js";

export const SYSTEM_INFO_EXECUTOR_ID = "system_info";

export const systemInfoInputSchema = z.object({
  resource: z
    .enum(["cpu", "memory", "disk", "os", "node", "all"])
    .default("all")
    .describe("The section to read; all of them by default."),
  path: z
    .string()
    .min(1)
    .optional()
    .describe("For disk: a path on the file system to measure (default: the root of the working directory)."),
});
export type SystemInfoInputs = z.output<typeof systemInfoInputSchema>;

const bytes = z.number().nonnegative();
/** The result shape in JSON Schema form (for listExecutors); mirrors `SystemInfoResult`. */
export const systemInfoResultSchema = z.object({
  cpu: z
    .object({
      model: z.string(),
      count: z.number().int(),
      speedMHz: z.number(),
      arch: z.string(),
      loadAverage: z.tuple([z.number(), z.number(), z.number()]),
    })
    .optional(),
  memory: z
    .object({
      totalBytes: bytes,
      freeBytes: bytes,
      usedBytes: bytes,
      usedPercent: z.number(),
      process: z.object({ rssBytes: bytes, heapTotalBytes: bytes, heapUsedBytes: bytes }),
    })
    .optional(),
  disk: z
    .object({
      path: z.string(),
      totalBytes: bytes,
      freeBytes: bytes,
      availableBytes: bytes,
      usedBytes: bytes,
      usedPercent: z.number(),
    })
    .optional(),
  os: z
    .object({
      platform: z.string(),
      type: z.string(),
      release: z.string(),
      version: z.string(),
      arch: z.string(),
      hostname: z.string(),
      uptimeSeconds: z.number(),
      endianness: z.enum(["BE", "LE"]),
    })
    .optional(),
  node: z.object({ version: z.string(), v8: z.string(), pid: z.number().int(), uptimeSeconds: z.number() }).optional(),
  collectedAt: z.string(),
});

/** Everything is read from Node's own APIs (`os`, `process`, `fs.statfs`): no program, no shell. */
export async function readSystemInfo(
  resource: SystemInfoResource = "all",
  diskPath: string = path.parse(process.cwd()).root,
): Promise<SystemInfoResult> {
  const want = (r: SystemInfoResource) => resource === "all" || resource === r;
  const result: SystemInfoResult = { collectedAt: new Date().toISOString() };
  if (want("cpu")) result.cpu = cpuInfo();
  if (want("memory")) result.memory = memoryInfo();
  if (want("disk")) result.disk = await diskInfo(diskPath);
  if (want("os")) result.os = osInfo();
  if (want("node")) result.node = nodeInfo();
  return result;
}

export function cpuInfo(): CpuInfo {
  const cpus = os.cpus();
  const [l1 = 0, l5 = 0, l15 = 0] = os.loadavg();
  return {
    model: cpus[0]?.model.trim() ?? "unknown",
    count: os.availableParallelism(),
    speedMHz: cpus[0]?.speed ?? 0,
    arch: os.arch(),
    loadAverage: [round2(l1), round2(l5), round2(l15)],
  };
}

export function memoryInfo(): MemoryInfo {
  const total = os.totalmem();
  const free = os.freemem();
  const mem = process.memoryUsage();
  return {
    totalBytes: total,
    freeBytes: free,
    usedBytes: total - free,
    usedPercent: percent(total - free, total),
    process: { rssBytes: mem.rss, heapTotalBytes: mem.heapTotal, heapUsedBytes: mem.heapUsed },
  };
}

export async function diskInfo(target: string): Promise<DiskInfo> {
  const resolved = path.resolve(target);
  let s: Awaited<ReturnType<typeof statfs>>;
  try {
    s = await statfs(resolved);
  } catch (err) {
    throw new TaskFailure(
      "SYSTEM_INFO_DISK_UNAVAILABLE",
      `cannot read disk usage of ${resolved}: ${(err as Error).message}`,
      {
        details: { path: resolved },
        retryable: false,
      },
    );
  }
  const total = s.blocks * s.bsize;
  const free = s.bfree * s.bsize;
  const available = s.bavail * s.bsize;
  // Like df: "used" is what is not free, and the percentage is relative to what users can reach.
  const used = total - free;
  return {
    path: resolved,
    totalBytes: total,
    freeBytes: free,
    availableBytes: available,
    usedBytes: used,
    usedPercent: percent(used, used + available),
  };
}

export function osInfo(): OsInfo {
  return {
    platform: process.platform,
    type: os.type(),
    release: os.release(),
    version: os.version(),
    arch: os.arch(),
    hostname: os.hostname(),
    uptimeSeconds: Math.round(os.uptime()),
    endianness: os.endianness(),
  };
}

export function nodeInfo(): NodeInfo {
  return {
    version: process.version,
    v8: process.versions.v8,
    pid: process.pid,
    uptimeSeconds: Math.round(process.uptime()),
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const percent = (part: number, whole: number) => (whole > 0 ? round2((part / whole) * 100) : 0);

const GiB = 1024 ** 3;

/** A plausible snapshot for demo mode. */
export const systemInfoDemoResult: SystemInfoResult = {
  cpu: { model: "Demo CPU @ 3.00GHz", count: 8, speedMHz: 3000, arch: "x64", loadAverage: [0.42, 0.37, 0.31] },
  memory: {
    totalBytes: 16 * GiB,
    freeBytes: 9 * GiB,
    usedBytes: 7 * GiB,
    usedPercent: 43.75,
    process: { rssBytes: 120 * 1024 ** 2, heapTotalBytes: 64 * 1024 ** 2, heapUsedBytes: 41 * 1024 ** 2 },
  },
  disk: {
    path: "/",
    totalBytes: 500 * GiB,
    freeBytes: 210 * GiB,
    availableBytes: 185 * GiB,
    usedBytes: 290 * GiB,
    usedPercent: 61.05,
  },
  os: {
    platform: "linux",
    type: "Linux",
    release: "6.8.0",
    version: "#1 SMP PREEMPT_DYNAMIC",
    arch: "x64",
    hostname: "demo-host",
    uptimeSeconds: 86_400,
    endianness: "LE",
  },
  node: { version: "v20.19.0", v8: "11.3.244.8-node.26", pid: 4242, uptimeSeconds: 360 },
  collectedAt: "2025-01-01T00:00:00.000Z",
};

function demoSystemInfo(inputs: Partial<SystemInfoInputs> | undefined): SystemInfoResult {
  const resource = inputs?.resource ?? "all";
  if (resource === "all") return systemInfoDemoResult;
  return { [resource]: systemInfoDemoResult[resource], collectedAt: systemInfoDemoResult.collectedAt };
}

export const systemInfoExecutor: ExecutorDefinition<SystemInfoInputs, SystemInfoResult> = {
  id: SYSTEM_INFO_EXECUTOR_ID,
  name: "System information",
  description: "CPU, memory, disk, OS and Node.js facts of the machine running the task, read without a shell.",
  tags: ["stdio", "system", "monitoring"],
  inputSchema: systemInfoInputSchema,
  outputSchema: systemInfoResultSchema,
  cancelable: false,
  demoResult: demoSystemInfo,
  examples: [
    { description: "Everything", inputs: {} },
    { description: "Disk usage of /var", inputs: { resource: "disk", path: "/var" } },
  ],
  async execute(rawInputs) {
    const parsed = systemInfoInputSchema.safeParse(rawInputs ?? {});
    if (!parsed.success) {
      const errors = zodIssues(parsed.error, "inputs");
      throw new TaskFailure("INVALID_INPUTS", errors.map((e) => `${e.path}: ${e.message}`).join("; "), {
        details: { errors: errors.map((e) => ({ ...e })) },
        retryable: false,
      });
    }
    return readSystemInfo(parsed.data.resource, parsed.data.path);
  },
};
