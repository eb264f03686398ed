import { spawn } from "node:child_process";
import { createApp, createLogger, startServer } from "@aipartnerupflow/api-a2a";
import { createApiProxy, withDashboard } from "@aipartnerupflow/dashboard";
import { type Command, Option } from "commander";
import type { CliContext } from "../context.js";
import { usageError } from "../errors.js";
import { cliVersion } from "../program.js";
import { examples, parseNonNegativeInt } from "./options.js";
import { authFromEnv, untilSignal } from "./serve.js";

/** Where `apflow ui` mounts the page (the same path as the reference server). */
const BASE = "/ui";

interface UiOptions {
  host: string;
  port: number;
  open: boolean;
}

/**
 * `apflow ui`: the web dashboard in this process. Local mode serves the API over the local store
 * (engine included, like `apflow serve`) with the dashboard at /ui; with `--server` it serves only
 * the page and forwards its API calls to that server, so it works against any node.
 */
export function registerUi(program: Command, ctx: CliContext): void {
  const ui = program
    .command("ui")
    .description("open the web dashboard: on the local store, or against a remote server with --server")
    .addOption(new Option("--host <host>", "address to listen on").default("127.0.0.1"))
    .addOption(
      new Option("-p, --port <port>", "port (0 picks a free one)").default(0).argParser(parseNonNegativeInt("--port")),
    )
    .option("--no-open", "print the address instead of opening a browser")
    .action(async (options: UiOptions, command: Command) => {
      const settings = ctx.settings(command);
      let handler: { fetch(request: Request): Response | Promise<Response> };
      let closeBackend: () => Promise<void> = async () => undefined;
      let startEngine: () => Promise<void> = async () => undefined;
      let where: string;
      if (settings.server) {
        handler = withDashboard(createApiProxy(settings.server), { basePath: BASE });
        where = `server ${settings.server}`;
      } else {
        const backend = await ctx.localBackend(command, settings);
        const auth = authFromEnv(ctx.io.env);
        const app = createApp({
          engine: backend.engine,
          logger: createLogger({ level: "silent" }),
          version: cliVersion(),
          ...(auth ? { auth } : {}),
        });
        handler = withDashboard(app, { basePath: BASE });
        closeBackend = () => backend.close();
        startEngine = () => backend.engine.start();
        where = `store ${backend.location}`;
      }
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        server = await startServer({ app: handler, host: options.host, port: options.port });
      } catch (err) {
        await closeBackend();
        if ((err as NodeJS.ErrnoException).code === "EADDRINUSE")
          throw usageError(`port ${options.port} on ${options.host} is already in use (pick another with --port)`);
        throw err;
      }
      await startEngine();
      const url = `${server.url}${BASE}/`;
      ctx.err(`apflow dashboard on ${url} (${where}); Ctrl-C stops it`);
      // A token given to the CLI travels in the fragment, which the browser never sends anywhere;
      // the page moves it into its session storage.
      if (options.open)
        openBrowser(settings.server && settings.token ? `${url}#token=${encodeURIComponent(settings.token)}` : url);
      await untilSignal();
      ctx.err("stopping…");
      await server.close();
      await closeBackend();
    });
  examples(ui, [
    "apflow ui                                      # the local store, in your browser",
    "apflow ui --no-open --port 8100",
    "apflow ui --server http://10.0.0.5:8000 --token $APFLOW_TOKEN",
  ]);
}

/** The platform's opener; a machine without one just has the printed address. */
function openBrowser(url: string): void {
  const [cmd, args] =
    process.platform === "darwin"
      ? ["open", [url]]
      : process.platform === "win32"
        ? ["cmd", ["/c", "start", "", url]]
        : ["xdg-open", [url]];
  try {
    const child = spawn(cmd, args as string[], { stdio: "ignore", detached: true });
    child.on("error", () => undefined);
    child.unref();
  } catch {
    // no opener: the address is printed above
  }
}
