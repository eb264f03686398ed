import { Registry } from "@aipartnerupflow/core";
import type { Command } from "commander";
import { LocalBackend, type LocalBackendOptions } from "./backend/local.js";
import { openRemoteBackend } from "./backend/remote.js";
import type { TaskBackend } from "./backend/types.js";
import { type LoadedConfig, type Settings, resolveSettings } from "./config.js";
import { ExitCode, usageError } from "./errors.js";
import type { Io } from "./io.js";
import { stderrLogger } from "./log.js";
import type { LoadedPlugin } from "./plugins.js";
import { type Palette, colorEnabled, createPalette } from "./render/colors.js";
import { describeDatabase, openStore } from "./store.js";

/** The global options every command sees (`optsWithGlobals()`). */
export interface GlobalOptions {
  db?: string;
  server?: string;
  token?: string;
  color?: boolean;
  concurrency?: number;
}

/**
 * What commands share: the process streams, the configuration, the plugin registry, and the
 * way to reach the tasks (local store or remote server).
 */
export class CliContext {
  /** What the process ends with when the action returns normally (errors map in errors.ts). */
  exitCode: ExitCode = ExitCode.Ok;

  constructor(
    readonly io: Io,
    readonly config: LoadedConfig,
    readonly registry: Registry,
    readonly plugins: LoadedPlugin[],
  ) {}

  settings(command: Command): Settings {
    const g = command.optsWithGlobals<GlobalOptions>();
    return resolveSettings(this.config, this.io.env, {
      ...(g.db !== undefined ? { db: g.db } : {}),
      ...(g.server !== undefined ? { server: g.server } : {}),
      ...(g.token !== undefined ? { token: g.token } : {}),
      ...(g.concurrency !== undefined ? { concurrency: g.concurrency } : {}),
    });
  }

  /** Colours for standard output (off for pipes, `NO_COLOR`, `--no-color`). */
  palette(command: Command): Palette {
    return createPalette(colorEnabled(this.io.stdout, this.io.env, command.optsWithGlobals<GlobalOptions>().color));
  }

  errorPalette(color?: boolean): Palette {
    return createPalette(colorEnabled(this.io.stderr, this.io.env, color));
  }

  /** Remote mode when a server is configured (`--server`, `APFLOW_SERVER`, config), else local. */
  async backend(command: Command): Promise<TaskBackend> {
    const settings = this.settings(command);
    if (settings.server) return openRemoteBackend({ url: settings.server, token: settings.token });
    return this.localBackend(command, settings);
  }

  /** Local mode regardless of `--server` (commands that run in this process). */
  async localBackend(
    command: Command,
    settings: Settings = this.settings(command),
    extra: Pick<LocalBackendOptions, "bus" | "placement"> = {},
  ): Promise<LocalBackend> {
    if (settings.executors) this.registry.setAllowedExecutors(settings.executors);
    const store = await openStore(settings.database, this.registry);
    const location = describeDatabase(settings.database, this.registry);
    return new LocalBackend({
      store,
      registry: this.registry,
      location,
      concurrency: settings.concurrency,
      ...extra,
      logger: stderrLogger(this.io.stderr, { debug: Boolean(this.io.env.APFLOW_DEBUG) }),
    });
  }

  /** Refuse `--server` for commands that only work on the local store. */
  requireLocal(command: Command, what: string): void {
    if (this.settings(command).server)
      throw usageError(`${what} works on the local store only; drop --server / APFLOW_SERVER`);
  }

  out(text: string | readonly string[]): void {
    const lines = typeof text === "string" ? [text] : text;
    if (lines.length > 0) this.io.stdout.write(`${lines.join("\n")}\n`);
  }

  json(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  err(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }
}

export function newRegistry(): Registry {
  return new Registry();
}
