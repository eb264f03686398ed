import { type AuthOptions, createApp, createLogger, startServer } from "@aipartnerupflow/api-a2a";
import { Scheduler, schedulesOf } from "@aipartnerupflow/core";
import { electionFor, Node, NodeEventBus } from "@aipartnerupflow/distributed";
import { type Command, Option } from "commander";
import type { CliContext } from "../context.js";
import { usageError } from "../errors.js";
import { cliVersion } from "../program.js";
import {
  concurrencyOption,
  examples,
  type PlacementFlags,
  parseNonNegativeInt,
  placementFromFlags,
  placementGranularityOption,
  placementOption,
} from "./options.js";

export interface ListenOptions {
  host?: string;
  port?: number;
}

/** Listen address: flags > APFLOW_HOST / APFLOW_PORT > config file `serve` > 127.0.0.1:8000. */
export function listenAddress(ctx: CliContext, options: ListenOptions): { host: string; port: number } {
  const envPort = ctx.io.env.APFLOW_PORT?.trim();
  const port = options.port ?? (envPort ? Number(envPort) : undefined) ?? ctx.config.file.serve?.port ?? 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`port must be 0..65535, got ${envPort}`);
  return {
    host: options.host ?? (ctx.io.env.APFLOW_HOST?.trim() || undefined) ?? ctx.config.file.serve?.host ?? "127.0.0.1",
    port,
  };
}

/** Auth from the environment: `APFLOW_JWT_SECRET` (HS256) or `APFLOW_JWKS_URL`; off otherwise. */
export function authFromEnv(env: NodeJS.ProcessEnv): AuthOptions | undefined {
  const auth: AuthOptions = {};
  if (env.APFLOW_JWT_SECRET) auth.jwtSecret = env.APFLOW_JWT_SECRET;
  if (env.APFLOW_JWKS_URL) auth.jwksUrl = env.APFLOW_JWKS_URL;
  return auth.jwtSecret || auth.jwksUrl ? auth : undefined;
}

export function portOption(): Option {
  return new Option("-p, --port <port>", "port (default 8000, APFLOW_PORT; 0 picks a free one)").argParser(
    parseNonNegativeInt("--port"),
  );
}

export function registerServe(program: Command, ctx: CliContext): void {
  const serve = program
    .command("serve")
    .description("start the API server (A2A, JSON-RPC at /tasks, MCP at /mcp) in this process on the local store")
    .option("--host <host>", "address to listen on (default 127.0.0.1, APFLOW_HOST)")
    .addOption(portOption())
    .addOption(concurrencyOption())
    .addOption(placementOption())
    .addOption(placementGranularityOption())
    .addOption(
      new Option("--log-level <level>", "log level of the JSON access log on stdout")
        .choices(["debug", "info", "warn", "error", "silent"])
        .default("info"),
    )
    .action(
      async (
        options: ListenOptions & PlacementFlags & { logLevel: "debug" | "info" | "warn" | "error" | "silent" },
        command: Command,
      ) => {
        ctx.requireLocal(command, "serve");
        const address = listenAddress(ctx, options);
        const wakeups = ctx.io.env.APFLOW_WAKEUPS?.trim() || undefined;
        const settings = ctx.settings(command);
        const placement = placementFromFlags(options, ctx.io.env, ctx.registry);
        // A node's bus: clients streaming from this server see tasks other processes run.
        const backend = await ctx.localBackend(command, settings, {
          bus: new NodeEventBus(),
          ...(placement ? { placement } : {}),
        });
        const auth = authFromEnv(ctx.io.env);
        const logger = createLogger({ level: options.logLevel });
        const corsOrigins = (ctx.io.env.APFLOW_CORS_ORIGINS ?? "")
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
        const app = createApp({
          engine: backend.engine,
          logger,
          version: cliVersion(),
          ...(auth ? { auth } : {}),
          ...(corsOrigins.length > 0 ? { corsOrigins } : {}),
        });
        let server: Awaited<ReturnType<typeof startServer>>;
        try {
          server = await startServer({ app, host: address.host, port: address.port });
        } catch (err) {
          await backend.close();
          const code = (err as NodeJS.ErrnoException).code;
          if (code === "EADDRINUSE")
            throw usageError(`port ${address.port} on ${address.host} is already in use (pick another with --port)`);
          throw err;
        }
        // The server is a node of its store (registry, heartbeat, coordinator election); schedules
        // fire on the coordinator. A store without a node registry runs the scheduler here.
        const makeScheduler = schedulesOf(backend.store)
          ? () =>
              new Scheduler({
                engine: backend.engine,
                logger,
                onFire: (fired) => app.apflow.metrics.scheduleFired(fired),
              })
          : undefined;
        let node: Node | undefined;
        try {
          node = backend.store.nodes
            ? new Node({
                engine: backend.engine,
                version: cliVersion(),
                election: electionFor(settings.database),
                ...(makeScheduler ? { scheduler: makeScheduler } : {}),
                wakeups: { spec: wakeups, databaseUrl: settings.database },
                logger,
              })
            : undefined;
        } catch (err) {
          await server.close();
          await backend.close();
          throw (err as { code?: unknown }).code === -32602 ? usageError((err as Error).message) : err;
        }
        const scheduler = node ? undefined : makeScheduler?.();
        if (node) await node.start();
        else await backend.engine.start();
        await scheduler?.start();
        logger.info(
          {
            url: server.url,
            store: backend.location,
            auth: auth ? "on" : "off",
            executors: ctx.registry.listExecutors().map((e) => e.id),
          },
          "apflow server listening",
        );
        ctx.err(
          `apflow server listening on ${server.url} (store: ${backend.location}, auth ${auth ? "on" : "off"}); Ctrl-C stops it`,
        );
        await untilSignal();
        ctx.err("stopping…");
        // Stop claiming and finish (or hand back) running tasks first, then close HTTP.
        backend.engine.pauseClaiming();
        await scheduler?.stop();
        await node?.stop();
        await server.close();
        await backend.close();
      },
    );
  examples(serve, [
    "apflow serve                                   # http://127.0.0.1:8000",
    "apflow serve --host 0.0.0.0 --port 9000",
    "APFLOW_JWT_SECRET=change-me apflow serve       # auth on: apflow token create --sub alice",
    "apflow serve --placement round-robin --placement-granularity subtree   # spread branches over the workers",
  ]);
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(signal);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}
