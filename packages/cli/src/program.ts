import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { registerConfig } from "./commands/config.js";
import { registerDaemon } from "./commands/daemon.js";
import { registerMcp } from "./commands/mcp.js";
import { registerServe } from "./commands/serve.js";
import { registerWorker } from "./commands/worker.js";
import { registerNodes } from "./commands/nodes.js";
import { registerToken } from "./commands/token.js";
import { registerDb } from "./commands/db.js";
import { registerExecutors } from "./commands/executors.js";
import { examples } from "./commands/options.js";
import { registerRun } from "./commands/run.js";
import { registerSchedules } from "./commands/schedules/index.js";
import { registerLimits } from "./commands/limits/index.js";
import { registerTasks } from "./commands/tasks/index.js";
import { registerQueue } from "./commands/queue/index.js";
import { registerUi } from "./commands/ui.js";
import type { CliContext } from "./context.js";
import { keepStdoutForJson } from "./log.js";

/** The CLI's own version, read from its package.json (one level above src/ and dist/). */
export function cliVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
      .version;
  } catch {
    return "0.0.0";
  }
}

/** Every command, built-in and from plugins, wired into one commander program. */
export function createProgram(ctx: CliContext): Command {
  const program = new Command("apflow");
  program
    .description("Run and manage aipartnerupflow task trees (alias: aipartnerupflow)")
    .version(cliVersion(), "-V, --version")
    .addOption(
      new Option(
        "--db <url>",
        "database: SQLite file path, postgres:// URL, or a plugin store's scheme:// URL (default ./.apflow/apflow.db)",
      ),
    )
    .addOption(
      new Option("--server <url>", "remote mode: talk to this server instead of the local store").env("APFLOW_SERVER"),
    )
    .addOption(new Option("--token <token>", "bearer token for --server").env("APFLOW_TOKEN"))
    .option("--no-color", "no colours (also NO_COLOR=1; colours are off when not a terminal)")
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({
      writeOut: (s) => void ctx.io.stdout.write(s),
      writeErr: (s) => void ctx.io.stderr.write(s),
    });
  // `--json` (and `mcp`, whose stdout is the protocol): stdout carries only that, whatever a
  // library prints on the console meanwhile.
  let restoreConsole: (() => void) | null = null;
  program.hook("preAction", (_program, action) => {
    const reserved = action.opts().json === true || (action.name() === "mcp" && action.parent === program);
    if (reserved) restoreConsole = keepStdoutForJson(ctx.io.stderr);
  });
  program.hook("postAction", () => {
    restoreConsole?.();
    restoreConsole = null;
  });

  registerRun(program, ctx);
  registerTasks(program, ctx);
  registerQueue(program, ctx);
  registerSchedules(program, ctx);
  registerLimits(program, ctx);
  registerExecutors(program, ctx);
  registerDb(program, ctx);
  registerServe(program, ctx);
  registerWorker(program, ctx);
  registerNodes(program, ctx);
  registerDaemon(program, ctx);
  registerMcp(program, ctx);
  registerToken(program, ctx);
  registerConfig(program, ctx);
  registerUi(program, ctx);
  registerPluginCommands(program, ctx);

  examples(program, [
    "apflow run examples/hello-world.json           # create and run a tree on the local SQLite store",
    "apflow tasks list --roots                      # the trees in the store",
    "apflow tasks tree <root-id>                    # one tree with statuses and errors",
    "apflow tasks copy <failed-task-id> --run       # re-run only what failed",
    "apflow executors list",
    "APFLOW_DATABASE_URL=postgres://u:p@host/db apflow db migrate",
  ]);
  program.addHelpText(
    "after",
    "\nExit codes: 0 ok, 1 a tree failed or was cancelled (or the operation was refused), 2 usage or input error, 3 store or server unreachable.\n",
  );
  return program;
}

/** Commands contributed by plugins (`registry.registerCommand`); a name already taken is an error. */
function registerPluginCommands(program: Command, ctx: CliContext): void {
  for (const definition of ctx.registry.listCommands()) {
    if (program.commands.some((c) => c.name() === definition.name || c.aliases().includes(definition.name))) {
      throw new CommanderError(
        2,
        "apflow.pluginCommand",
        `a plugin command is named "${definition.name}", which is a built-in command`,
      );
    }
    const command = program.command(definition.name).description(definition.description);
    definition.configure(command, { registry: ctx.registry });
  }
}
