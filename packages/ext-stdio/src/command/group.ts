import { readdirSync, readFileSync } from "node:fs";

/**
 * Process-group helpers. The program is spawned detached, so it leads a new process group whose
 * id is its pid; every child it forks joins that group unless it calls setsid itself.
 */

/**
 * Send `signal` to every process of the group. False when the group no longer exists. Never
 * throws (it runs from timers): EPERM, for a member that changed its credentials, counts as sent.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/**
 * Whether any process of the group is still running. Zombies do not count: a killed grandchild
 * whose parent died is re-parented to PID 1, which in a container may never reap it.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  if (process.platform !== "linux") return true;
  return liveMembersFromProc(pgid) !== 0;
}

/** Count non-zombie processes of a group by reading /proc (Linux); -1 when /proc is unreadable. */
function liveMembersFromProc(pgid: number): number {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return -1;
  }
  let live = 0;
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const stat = readProcStat(Number(entry));
    if (stat && stat.pgrp === pgid && stat.state !== "Z" && stat.state !== "X") live++;
  }
  return live;
}

export interface ProcStat {
  state: string;
  ppid: number;
  pgrp: number;
  /** When the process started, in clock ticks after boot: with the pid, it names one process. */
  startTime: number;
}

/** Parse /proc/<pid>/stat (Linux). Undefined when the process does not exist. */
export function readProcStat(pid: number): ProcStat | undefined {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
  const fields = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
  const [state, ppid, pgrp] = fields;
  const startTime = fields[19];
  if (state === undefined || ppid === undefined || pgrp === undefined || startTime === undefined) return undefined;
  return { state, ppid: Number(ppid), pgrp: Number(pgrp), startTime: Number(startTime) };
}

/** Whether one process is running (a zombie counts as gone). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X";
}

/**
 * Tears a process group down: SIGTERM, then SIGKILL after `graceMs` unless the whole group is gone
 * by then. Idempotent; `settle()` resolves once the group is gone or has been sent SIGKILL.
 */
export class GroupTerminator {
  private termSent = false;
  private killSent = false;
  private killTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly pgid: number,
    private readonly graceMs: number,
  ) {}

  get terminating(): boolean {
    return this.termSent;
  }

  /** SIGTERM the group now and arm the SIGKILL. */
  terminate(): void {
    if (this.termSent) return;
    this.termSent = true;
    if (!signalGroup(this.pgid, "SIGTERM")) return;
    this.killTimer = setTimeout(() => this.kill(), this.graceMs);
  }

  kill(): void {
    this.clearTimer();
    if (this.killSent) return;
    this.killSent = true;
    signalGroup(this.pgid, "SIGKILL");
  }

  /**
   * Make sure nothing of the group outlives the command: terminate leftovers (children that
   * outlived the program) and wait until they are gone or have been sent SIGKILL.
   */
  async settle(pollMs = 25): Promise<void> {
    try {
      if (!groupAlive(this.pgid)) return;
      this.terminate();
      while (!this.killSent && groupAlive(this.pgid)) await sleep(pollMs);
    } finally {
      this.clearTimer();
    }
  }

  /** Stop the pending SIGKILL timer (for example when the caller gives up waiting). */
  dispose(): void {
    this.clearTimer();
  }

  private clearTimer(): void {
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
