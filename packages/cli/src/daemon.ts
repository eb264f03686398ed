import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** What `daemon start` records in `./.apflow/daemon.pid` (JSON). */
export interface DaemonState {
  pid: number;
  url: string;
  startedAt: string;
  logFile: string;
}

export interface DaemonPaths {
  dir: string;
  pidFile: string;
  logFile: string;
}

/** The daemon's files: `./.apflow/daemon.pid` and `./.apflow/daemon.log` under the working directory. */
export function daemonPaths(cwd: string): DaemonPaths {
  const dir = join(cwd, ".apflow");
  return { dir, pidFile: join(dir, "daemon.pid"), logFile: join(dir, "daemon.log") };
}

export function readDaemonState(paths: DaemonPaths): DaemonState | null {
  if (!existsSync(paths.pidFile)) return null;
  try {
    const state = JSON.parse(readFileSync(paths.pidFile, "utf8")) as Partial<DaemonState>;
    return typeof state.pid === "number" && typeof state.url === "string" ? (state as DaemonState) : null;
  } catch {
    return null;
  }
}

export function writeDaemonState(paths: DaemonPaths, state: DaemonState): void {
  mkdirSync(paths.dir, { recursive: true });
  writeFileSync(paths.pidFile, `${JSON.stringify(state, null, 2)}\n`);
}

export function removeDaemonState(paths: DaemonPaths): void {
  rmSync(paths.pidFile, { force: true });
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
