import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The built CLI, as users run it. `vitest.global-setup.ts` builds it before the tests. */
export const BIN = fileURLToPath(new URL("../../dist/bin.js", import.meta.url));
/** The repository's examples folder. */
export const EXAMPLES = resolve(fileURLToPath(new URL("../../../../examples", import.meta.url)));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  /** Written to the CLI's standard input, which is then closed. */
  input?: string;
}

/**
 * Spawn `node dist/bin.js ...args` in `cwd` with a clean environment (no inherited APFLOW_*,
 * DATABASE_URL or colour settings), so each test's store is the SQLite file of its own cwd.
 */
export function runCli(args: string[], options: CliOptions): Promise<CliResult> {
  return spawnCli(args, options).done;
}

export interface RunningCli {
  /** Output so far. */
  stdout(): string;
  /** Error output so far. */
  stderr(): string;
  /** Send a signal to the CLI process (SIGINT is what Ctrl-C sends). */
  kill(signal: NodeJS.Signals): void;
  done: Promise<CliResult>;
}

/** CLI processes still running; killed when the test process exits (a timed-out test leaves none behind). */
const live = new Set<{ kill(signal?: NodeJS.Signals): boolean }>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** Like `runCli`, without waiting: for commands that run while the test does something else. */
export function spawnCli(args: string[], options: CliOptions): RunningCli {
  const env = cleanEnv();
  env.NO_COLOR = "1";
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd, env, stdio: ["pipe", "pipe", "pipe"] });
  live.add(child);
  child.on("close", () => live.delete(child));
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  child.stdin.end(options.input ?? "");
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    kill: (signal) => child.kill(signal),
    done: new Promise((done, fail) => {
      child.on("error", fail);
      child.on("close", (code) => done({ code, stdout, stderr }));
    }),
  };
}

/** Re-check `probe` until it returns a value (the test's own timeout bounds the wait). */
export async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Parse a CLI's JSON output, failing with the output itself when it is not JSON. */
export function parseJson<T>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
  }
}

/** A fresh working directory per test; removed by the returned cleanup. */
export function tempDir(prefix = "apflow-cli-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A stack trace line, which users must never see. */
export const STACK_LINE = /^\s+at .+\(.+:\d+:\d+\)$/m;

export interface ServeHandle {
  url: string;
  /** Ask the server to stop (SIGTERM) and wait for it to exit; returns its exit code. */
  stop(): Promise<number | null>;
  stderr(): string;
}

/**
 * Start `apflow serve --port 0` in `cwd` and resolve with its URL once it listens (it prints
 * `listening on <url>` on standard error).
 */
export function startServe(options: CliOptions): Promise<ServeHandle> {
  const env: Record<string, string> = { ...(cleanEnv() as Record<string, string>), NO_COLOR: "1" };
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--log-level", "silent"], {
    cwd: options.cwd,
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  live.add(child);
  const exited = new Promise<number | null>((r) =>
    child.on("close", (code) => {
      live.delete(child);
      r(code);
    }),
  );
  return new Promise((resolve, reject) => {
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1]) {
        resolve({
          url: match[1],
          stderr: () => stderr,
          stop: () => {
            child.kill("SIGTERM");
            return exited;
          },
        });
      }
    });
    exited.then((code) => reject(new Error(`apflow serve exited with ${code}:\n${stderr}`)));
  });
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("APFLOW_") || k === "DATABASE_URL" || k === "FORCE_COLOR" || k === "NO_COLOR")
      continue;
    env[k] = v;
  }
  return env;
}

/**
 * Write `gated.json` in `dir`: a tree whose one command task (`gate`, under `gate-root`) waits
 * until the file `go` exists in `dir`, then prints "went". Needs `node` allowed for `command`.
 */
export function writeGatedTree(dir: string): void {
  const wait =
    "const fs=require('fs');const t=setInterval(()=>{if(fs.existsSync('go')){clearInterval(t);console.log('went')}},50)";
  writeFileSync(
    join(dir, "gated.json"),
    JSON.stringify([
      { name: "gate-root", params: { executorId: "aggregate_results" }, dependencies: ["gate"] },
      {
        name: "gate",
        parentId: "gate-root",
        params: { executorId: "command" },
        inputs: { command: ["node", "-e", wait], cwd: dir },
      },
    ]),
  );
}
