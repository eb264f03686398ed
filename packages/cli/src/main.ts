import { Registry, describeUnknownSetting, findUnknownSettings } from "@aipartnerupflow/core";
import { CommanderError } from "commander";
import { loadConfig, pluginSpecs } from "./config.js";
import { CliContext } from "./context.js";
import { ExitCode, describeError, exitCodeFor } from "./errors.js";
import { type Io, processIo } from "./io.js";
import { loadPlugins } from "./plugins.js";
import { colorEnabled, createPalette } from "./render/colors.js";
import { createProgram } from "./program.js";

/**
 * Run the CLI with `argv` (as `process.argv`: node, script, args...) and return the exit code.
 * Errors are printed as one clear message (detail lines under it), never as a stack trace unless
 * `APFLOW_DEBUG` is set.
 */
export async function main(argv: readonly string[] = process.argv, io: Io = processIo()): Promise<number> {
  let ctx: CliContext | undefined;
  try {
    // A misspelt setting would be ignored without a word: say so, naming the closest known one.
    for (const unknown of findUnknownSettings(io.env)) io.stderr.write(`warning: ${describeUnknownSetting(unknown)}\n`);
    const config = loadConfig(io.cwd, io.env);
    const registry = new Registry();
    const plugins = await loadPlugins(registry, config, pluginSpecs(config, io.cwd, io.env), io.cwd);
    ctx = new CliContext(io, config, registry, plugins);
    const program = createProgram(ctx);
    await program.parseAsync([...argv]);
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "apflow.pluginCommand") printError(io, err);
      return err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.exitCode === 0
        ? ExitCode.Ok
        : ExitCode.Usage;
    }
    printError(io, err);
    return exitCodeFor(err);
  }
}

function printError(io: Io, err: unknown): void {
  const debug = Boolean(io.env.APFLOW_DEBUG);
  const c = createPalette(colorEnabled(io.stderr, io.env, io.env.NO_COLOR ? false : undefined));
  const { message, details } = describeError(err, debug);
  const lines = [`${c.red(c.bold("error:"))} ${message}`, ...details.map((d) => `  ${d}`)];
  io.stderr.write(`${lines.join("\n")}\n`);
}
