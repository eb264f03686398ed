import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  watchFile,
  unwatchFile,
  readSync,
  fstatSync,
} from "node:fs";
import { fileURLToPath } from "node:url";
import { ApflowClient } from "@aipartnerupflow/api-a2a";
import type { Command } from "commander";
import type { CliContext, GlobalOptions } from "../context.js";
import { daemonPaths, isAlive, readDaemonState, removeDaemonState, writeDaemonState } from "../daemon.js";
import { CliError, ExitCode, usageError } from "../errors.js";
import { examples, jsonOption, parsePositiveInt } from "./options.js";
import { type ListenOptions, listenAddress, portOption } from "./serve.js";

/** How long `daemon start` waits for the server to answer, and `stop` for it to exit. */
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export function registerDaemon(program: Command, ctx: CliContext): void {
  const daemon = program
    .command("daemon")
    .description("run the API server in the background (pid file and log file in ./.apflow/)");

  daemon
    .command("start")
    .description("start `apflow serve` detached; waits until it answers")
    .option("--host <host>", "address to listen on (default 127.0.0.1, APFLOW_HOST)")
    .addOption(portOption())
    .action(async (options: ListenOptions, command: Command) => {
      ctx.requireLocal(command, "daemon start");
      const paths = daemonPaths(ctx.io.cwd);
      const existing = readDaemonState(paths);
      if (existing && isAlive(existing.pid)) {
        ctx.out(`already running: pid ${existing.pid}, ${existing.url}`);
        return;
      }
      const address = listenAddress(ctx, options);
      if (address.port === 0) throw usageError("daemon start needs a fixed port (not 0)");
      mkdirSync(paths.dir, { recursive: true });
      const log = openSync(paths.logFile, "a");
      const globals = command.optsWithGlobals<GlobalOptions>();
      const args = [
        fileURLToPath(new URL("./bin.js", import.meta.url)),
        ...(globals.db ? ["--db", globals.db] : []),
        "serve",
        "--host",
        address.host,
        "--port",
        String(address.port),
      ];
      const child = spawn(process.execPath, args, {
        cwd: ctx.io.cwd,
        env: ctx.io.env,
        detached: true,
        stdio: ["ignore", log, log],
      });
      closeSync(log);
      const pid = child.pid;
      if (pid === undefined) throw new CliError("could not start the server process", ExitCode.Failed);
      let exited: number | null | undefined;
      child.once("exit", (code) => {
        exited = code;
      });
      child.unref();
      const urlHost = address.host.includes(":")
        ? `[${address.host}]`
        : address.host === "0.0.0.0"
          ? "127.0.0.1"
          : address.host;
      const url = `http://${urlHost}:${address.port}`;
      writeDaemonState(paths, { pid, url, startedAt: new Date().toISOString(), logFile: paths.logFile });
      const client = new ApflowClient({ url, ...(ctx.io.env.APFLOW_TOKEN ? { token: ctx.io.env.APFLOW_TOKEN } : {}) });
      const deadline = Date.now() + START_TIMEOUT_MS;
      for (;;) {
        if (exited !== undefined) {
          removeDaemonState(paths);
          throw new CliError(
            `the server exited (code ${exited}) while starting; see ${paths.logFile}`,
            ExitCode.Failed,
            lastLines(paths.logFile, 5),
          );
        }
        if (await answers(client)) break;
        if (Date.now() > deadline)
          throw new CliError(`the server did not answer at ${url} in time; see ${paths.logFile}`, ExitCode.Unreachable);
        await sleep(150);
      }
      ctx.out(`started: pid ${pid}, ${url}  (logs: apflow daemon logs)`);
    });

  daemon
    .command("stop")
    .description("stop the background server (SIGTERM, then SIGKILL if it does not exit)")
    .action(async () => {
      const paths = daemonPaths(ctx.io.cwd);
      const state = readDaemonState(paths);
      if (!state || !isAlive(state.pid)) {
        removeDaemonState(paths);
        ctx.out("not running");
        return;
      }
      process.kill(state.pid, "SIGTERM");
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (isAlive(state.pid) && Date.now() < deadline) await sleep(100);
      if (isAlive(state.pid)) process.kill(state.pid, "SIGKILL");
      removeDaemonState(paths);
      ctx.out(`stopped pid ${state.pid}`);
    });

  jsonOption(
    daemon
      .command("status")
      .description("whether the background server runs and answers; exit 1 when not running, 3 when not answering"),
  ).action(async (options: { json?: boolean }) => {
    const paths = daemonPaths(ctx.io.cwd);
    const state = readDaemonState(paths);
    const alive = state ? isAlive(state.pid) : false;
    const answering = state && alive ? await answers(new ApflowClient({ url: state.url })) : false;
    const status = {
      running: alive,
      answering,
      pid: alive ? (state?.pid ?? null) : null,
      url: state?.url ?? null,
      logFile: paths.logFile,
      startedAt: state?.startedAt ?? null,
    };
    ctx.exitCode = !alive ? ExitCode.Failed : answering ? ExitCode.Ok : ExitCode.Unreachable;
    if (options.json) return ctx.json(status);
    if (!alive) return ctx.out("not running");
    ctx.out(
      `running: pid ${status.pid}, ${status.url}, since ${status.startedAt}${answering ? "" : " — but not answering"}`,
    );
  });

  const logs = daemon
    .command("logs")
    .description("print the background server's log (JSON lines)")
    .option("-n, --lines <n>", "the last n lines (default 50)", parsePositiveInt("--lines"), 50)
    .option("-f, --follow", "keep printing new lines until Ctrl-C")
    .action(async (options: { lines: number; follow?: boolean }) => {
      const { logFile } = daemonPaths(ctx.io.cwd);
      if (!existsSync(logFile)) throw usageError(`no log file yet: ${logFile} (start with apflow daemon start)`);
      ctx.out(lastLines(logFile, options.lines));
      if (!options.follow) return;
      let offset = statSync(logFile).size;
      await new Promise<void>((resolve) => {
        const onChange = (): void => {
          const fd = openSync(logFile, "r");
          try {
            const size = fstatSync(fd).size;
            if (size < offset) offset = 0;
            if (size > offset) {
              const buffer = Buffer.alloc(size - offset);
              readSync(fd, buffer, 0, buffer.length, offset);
              offset = size;
              ctx.io.stdout.write(buffer.toString("utf8"));
            }
          } finally {
            closeSync(fd);
          }
        };
        watchFile(logFile, { interval: 250 }, onChange);
        const stop = (): void => {
          unwatchFile(logFile, onChange);
          resolve();
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
  examples(logs, ["apflow daemon logs -n 100", "apflow daemon logs -f"]);
  examples(daemon, [
    "apflow daemon start --port 8000",
    "apflow daemon status",
    "apflow tasks list --server http://127.0.0.1:8000",
    "apflow daemon stop",
  ]);
}

async function answers(client: ApflowClient): Promise<boolean> {
  try {
    await client.health();
    return true;
  } catch (err) {
    // A server with auth on answers health calls without a token with 401: it is up.
    return (err as { httpStatus?: number }).httpStatus === 401;
  }
}

function lastLines(file: string, n: number): string[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, "utf8").split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.slice(-n);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
