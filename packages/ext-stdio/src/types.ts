/**
 * Public types of @aipartnerupflow/ext-stdio. The README documents exactly these.
 *
 * Terminology: the *program* is the first element of `inputs.command` (a bare name resolved on
 * the trusted search path, or an absolute path that the allow-list names verbatim); the
 * *process group* is the group the program leads (it is spawned detached), which holds every
 * child it forks unless a child deliberately leaves it (setsid).
 */

/** Operator configuration of the `command` executor (plugin options `{ command: ... }`). */
export interface CommandExecutorOptions {
  /**
   * Master switch. Default: `APFLOW_COMMAND_ENABLED` (`1`, `true`, `yes`, `on`), else `false`.
   * While false every task fails with `COMMAND_DISABLED`.
   */
  enabled?: boolean;
  /**
   * Program names that may run: bare names (`"echo"`, `"node"`), matched exactly against the
   * program and resolved on `searchPath`, or absolute paths (`"/opt/tools/report"`), matched
   * exactly. Default: `APFLOW_COMMAND_ALLOW` (comma-separated), else empty (nothing runs).
   */
  allow?: string[];
  /**
   * Let tasks set `shell: true` (the script runs under `shellPath -c`). The allow-list cannot
   * constrain what a shell script runs, so this is equivalent to allowing any program.
   * Default: `APFLOW_COMMAND_ALLOW_SHELL`, else `false`.
   */
  allowShell?: boolean;
  /** Shell used when `shell: true` is allowed. Default `/bin/sh`. */
  shellPath?: string;
  /**
   * Directories searched for bare program names, in order (absolute entries only; relative
   * ones such as `.` are ignored). Default: the server's own `PATH`. A task's `env.PATH`
   * never influences which program runs.
   */
  searchPath?: string[];
  /**
   * Start from the server's whole environment instead of the minimal safe one. Default `false`:
   * server secrets (database URLs, API keys, JWT secrets) are not handed to programs.
   */
  inheritEnv?: boolean;
  /**
   * Default and ceiling of `inputs.maxOutputBytes`, per stream. Default 1 MiB.
   */
  maxOutputBytes?: number;
  /** Default `inputs.timeoutMs` when a task sets none. Default: no own timeout. */
  defaultTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when the process group is torn down. Default 2000 ms. */
  killGraceMs?: number;
  /**
   * Rate limit of the line-by-line progress events: a burst of `burst` lines, then at most
   * `linesPerSecond`. Lines beyond it are counted and reported as one `[... N lines not streamed]`
   * message; the full output is still in the result (up to `maxOutputBytes`).
   */
  progress?: { linesPerSecond?: number; burst?: number; maxLineLength?: number };
}

/** Options of the plugin: `registry.use(stdioPlugin, { command: { enabled: true, allow: ["echo"] } })`. */
export interface StdioPluginOptions {
  command?: CommandExecutorOptions;
  /** Replace executors already registered under `command` / `system_info`. */
  override?: boolean;
}

/** What the `command` executor returns. */
export interface CommandResult {
  /** Exit code, or null when the program was ended by a signal. */
  exitCode: number | null;
  /** The signal that ended the program (`"SIGTERM"`, ...), or null. */
  signal: string | null;
  /** Standard output as UTF-8, at most `maxOutputBytes` bytes (the beginning is kept). */
  stdout: string;
  /** Standard error as UTF-8, at most `maxOutputBytes` bytes (the beginning is kept). */
  stderr: string;
  /** True when stdout or stderr was cut at `maxOutputBytes`. */
  truncated: boolean;
  /** Bytes the program wrote to stdout, including any that were cut. */
  stdoutBytes: number;
  /** Bytes the program wrote to stderr, including any that were cut. */
  stderrBytes: number;
  durationMs: number;
}

export type SystemInfoResource = "cpu" | "memory" | "disk" | "os" | "node" | "all";

export interface CpuInfo {
  model: string;
  /** Logical CPUs available to this process (`os.availableParallelism()`). */
  count: number;
  speedMHz: number;
  arch: string;
  /** 1, 5 and 15 minute load averages (zeros on Windows). */
  loadAverage: [number, number, number];
}

export interface MemoryInfo {
  totalBytes: number;
  freeBytes: number;
  usedBytes: number;
  usedPercent: number;
  process: { rssBytes: number; heapTotalBytes: number; heapUsedBytes: number };
}

export interface DiskInfo {
  /** The path whose file system was measured. */
  path: string;
  totalBytes: number;
  /** Free bytes, including those reserved for the superuser. */
  freeBytes: number;
  /** Free bytes available to unprivileged users. */
  availableBytes: number;
  usedBytes: number;
  usedPercent: number;
}

export interface OsInfo {
  platform: string;
  type: string;
  release: string;
  version: string;
  arch: string;
  hostname: string;
  uptimeSeconds: number;
  endianness: "BE" | "LE";
}

export interface NodeInfo {
  version: string;
  v8: string;
  pid: number;
  uptimeSeconds: number;
}

/** What `system_info` returns: the requested section (or all of them) and when it was read. */
export interface SystemInfoResult {
  cpu?: CpuInfo;
  memory?: MemoryInfo;
  disk?: DiskInfo;
  os?: OsInfo;
  node?: NodeInfo;
  collectedAt: string;
}
