import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { JsonValue, Logger } from "@aipartnerupflow/core";
import { groupAlive, readProcStat, signalGroup } from "./group.js";

/**
 * Orphaned process groups. When the process running a command dies (SIGKILL, OOM), the command's
 * process group keeps running: nothing else knows it exists. So each run records its group in the
 * task's checkpoint, and the run that takes the task over on the same host kills what is left of
 * the group before starting the program again — otherwise two copies of the command would run.
 */

/** What a run records of its process group (the task's checkpoint; only this executor writes it). */
export type CommandGroupRecord = {
  commandGroup: { host: string; bootId: string; pgid: number; startTime: number };
};

/** The record of a group just spawned; undefined where /proc cannot tell one process from another. */
export function recordGroup(pgid: number): CommandGroupRecord | undefined {
  const stat = readProcStat(pgid);
  const boot = bootId();
  if (!stat || boot === undefined) return undefined;
  return { commandGroup: { host: hostname(), bootId: boot, pgid, startTime: stat.startTime } };
}

export type ReapOutcome = "none" | "other_host" | "gone" | "reused" | "killed" | "survived";

/**
 * Kill the group a previous run of this task left behind, if it still runs on this host.
 * A pid is only trusted with the start time it had: a reused pid is never signalled. While a
 * group has members its id cannot be handed out again, so a group whose leader already exited is
 * still the recorded one.
 */
export async function reapOrphanedGroup(
  checkpoint: JsonValue | null,
  log: Logger,
  waitMs = 5_000,
): Promise<ReapOutcome> {
  const record = parseRecord(checkpoint);
  if (!record) return "none";
  const { host, bootId: boot, pgid, startTime } = record.commandGroup;
  if (host !== hostname() || boot !== bootId()) return "other_host";
  if (!groupAlive(pgid)) return "gone";
  const leader = readProcStat(pgid);
  if (leader && leader.startTime !== startTime) return "reused";
  log.warn({ pgid }, "command: killing the process group an earlier run of this task left running");
  signalGroup(pgid, "SIGKILL");
  const deadline = Date.now() + waitMs;
  while (groupAlive(pgid)) {
    if (Date.now() > deadline) {
      log.error({ pgid }, "command: the orphaned process group survived SIGKILL");
      return "survived";
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return "killed";
}

function parseRecord(value: JsonValue | null): CommandGroupRecord | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const group = value.commandGroup;
  if (group === null || typeof group !== "object" || Array.isArray(group)) return undefined;
  const { host, bootId: boot, pgid, startTime } = group;
  if (typeof host !== "string" || typeof boot !== "string") return undefined;
  if (!Number.isInteger(pgid) || !Number.isInteger(startTime) || (pgid as number) <= 1) return undefined;
  return { commandGroup: { host, bootId: boot, pgid: pgid as number, startTime: startTime as number } };
}

let cachedBootId: string | undefined | null = null;
/** This boot of the machine (Linux); pids and start times only mean something within one. */
function bootId(): string | undefined {
  if (cachedBootId !== null) return cachedBootId;
  try {
    cachedBootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    cachedBootId = undefined;
  }
  return cachedBootId;
}
