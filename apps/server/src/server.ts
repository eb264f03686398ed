import { readFileSync } from "node:fs";
import { type ApflowApp, type ServerHandle, createApp, createLogger, startServer } from "@aipartnerupflow/api-a2a";
import {
  Engine,
  type Logger,
  Registry,
  Scheduler,
  type TaskStore,
  describeUnknownSetting,
  findUnknownSettings,
  limitsOf,
  registerBuiltins,
  schedulesOf,
} from "@aipartnerupflow/core";
import { prismaStoreFactory } from "@aipartnerupflow/storage-prisma";
import { electionFor, LocalElection, Node, NodeEventBus } from "@aipartnerupflow/distributed";
import { withDashboard } from "@aipartnerupflow/dashboard";
import { type ServerConfig, databaseLocation, redactConfig, redactUrl, startDirectory } from "./config.js";
import { loadPlugins } from "./plugins.js";

/** Where the reference server mounts the web dashboard. */
export const DASHBOARD_PATH = "/ui";

export interface RunningServer {
  url: string;
  port: number;
  engine: Engine;
  store: TaskStore;
  logger: Logger;
  /** This server's node in the registry (its `wakeups`), when the store has one. */
  node: Node | undefined;
  /** Stop accepting requests, let running tasks finish within the grace period, close the store. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** A store to use instead of opening `config.databaseUrl` (tests, embedding). */
  store?: TaskStore;
  logger?: Logger;
  /** The environment checked for unknown `APFLOW_*` settings (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** What a relative database path is relative to (default: where the user started, see `startDirectory`). */
  startDir?: string;
}

/**
 * Composition only (docs/architecture.md#packages): registry + plugins, store (migrated on open for SQLite), engine,
 * app, HTTP server, and the ordered shutdown.
 */
export async function startApflowServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger({ level: config.logLevel });
  logger.info({ config: redactConfig(config) }, "starting");
  for (const unknown of findUnknownSettings(options.env ?? process.env)) {
    logger.warn({ setting: unknown.name, suggestion: unknown.suggestion }, describeUnknownSetting(unknown));
  }
  const registry = registerBuiltins(new Registry({ allowedExecutors: config.executors }));
  // The built-in store (SQLite, PostgreSQL); a plugin may add schemes or replace it for one.
  registry.registerStore(prismaStoreFactory);
  const plugins = await loadPlugins(registry, config.plugins, config.pluginOptions);
  if (plugins.length > 0) logger.info({ plugins }, "plugins loaded");

  let store: TaskStore;
  let url: string | undefined;
  if (options.store) {
    store = options.store;
    logger.info({ database: "provided store" }, "database: the store passed in by the caller");
  } else {
    url = databaseLocation(config.databaseUrl, options.startDir ?? startDirectory());
    store = await registry.openStore(url);
    const factory = registry.findStoreFor(url)?.id;
    const where = factory === prismaStoreFactory.id ? redactUrl(url) : `${redactUrl(url)} (store ${factory})`;
    logger.info({ database: redactUrl(url), store: factory }, `database: ${where}`);
  }
  if (config.limits.length > 0) {
    // APFLOW_LIMITS: the rules are the store's (every process on it obeys them); set them before claiming.
    const limits = limitsOf(store);
    if (!limits) throw new Error("APFLOW_LIMITS is set but this store keeps no limits");
    for (const rule of config.limits) await limits.set(rule);
    logger.info(
      { limits: config.limits },
      `limits: ${config.limits.length} rule(s) from APFLOW_LIMITS set in the store`,
    );
  }
  const executors = registry.listExecutors().map((e) => e.id);
  const engine = new Engine({
    store,
    registry,
    // Every node's events once wake-ups fan them out: streams here see tasks run by workers.
    bus: new NodeEventBus(),
    concurrency: config.concurrency,
    demo: config.demo,
    logger,
    leaseMs: config.leaseMs,
    // Producer-only (APFLOW_EXECUTE=0): accepts, validates and queues; the workers run.
    claim: config.execute,
    claimExecutors: executors,
    claimTags: config.nodeTags,
    ...(config.nodeId ? { owner: config.nodeId } : {}),
  });
  let http: ServerHandle | undefined;
  // Schedules fire beside the engine (not in its claim loop), when the store has the facet: on the
  // coordinator only when the store has a node registry (many servers and workers on one database).
  // Its firings are counted by the app's queue metrics (`apflow_schedule_firings_total`).
  let metrics: ApflowApp["apflow"]["metrics"] | undefined;
  const makeScheduler = schedulesOf(store)
    ? () => new Scheduler({ engine, logger, onFire: (fired) => metrics?.scheduleFired(fired) })
    : undefined;
  let node: Node | undefined;
  let scheduler: Scheduler | undefined;
  try {
    node = store.nodes
      ? new Node({
          engine,
          version: serverVersion(),
          tags: config.nodeTags,
          heartbeatMs: config.heartbeatMs,
          ...(config.deadAfterMs ? { deadAfterMs: config.deadAfterMs } : {}),
          election: url ? electionFor(url) : new LocalElection(),
          ...(makeScheduler ? { scheduler: makeScheduler } : {}),
          // A producer-only server needs them too: its clients stream the workers' events.
          wakeups: { spec: config.wakeups, databaseUrl: url },
          logger,
        })
      : undefined;
    scheduler = node ? undefined : makeScheduler?.();
    if (node) await node.start();
    else await engine.start();
    const app = createApp({
      engine,
      store,
      registry,
      logger,
      auth: {
        ...(config.jwtSecret ? { jwtSecret: config.jwtSecret } : {}),
        ...(config.jwksUrl ? { jwksUrl: config.jwksUrl } : {}),
        ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
        ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
      },
      bodyLimitBytes: config.bodyLimitBytes,
      corsOrigins: config.corsOrigins,
      allowedHosts: allowedHostsOf(config),
      webhooks: config.webhookSecret ? { secret: config.webhookSecret } : {},
      webhookAllowHosts: config.webhookAllowHosts,
      ...(config.rateLimit ? { rateLimit: config.rateLimit } : {}),
      ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
      compat: config.compat ? { path: config.compatPath, storedLlmKeys: config.compatStoredLlmKeys } : false,
    });
    metrics = app.apflow.metrics;
    await scheduler?.start();
    // The dashboard's page and assets at /ui (public); its data comes from the API behind auth.
    const handler = config.dashboard ? withDashboard(app, { basePath: DASHBOARD_PATH }) : app;
    http = await startServer({ app: handler, port: config.port, host: config.host });
    logger.info(
      {
        url: http.url,
        auth: Boolean(config.jwtSecret || config.jwksUrl),
        dashboard: config.dashboard ? `${http.url}${DASHBOARD_PATH}/` : "off",
        wakeups: node?.wakeups?.transport.name ?? "none",
      },
      "listening",
    );
    const server = http;
    const running = node;
    let closing: Promise<void> | undefined;
    return {
      url: server.url,
      port: server.port,
      engine,
      store,
      logger,
      node: running,
      close: () => {
        closing ??= (async () => {
          logger.info({ graceMs: config.shutdownGraceMs }, "shutting down");
          // Stop claiming first; running tasks finish within the grace (the rest are handed back,
          // leases released), the node deregisters; only then does HTTP close.
          engine.pauseClaiming();
          await scheduler?.stop();
          if (running) await running.stop({ graceMs: config.shutdownGraceMs });
          else await engine.stop({ graceMs: config.shutdownGraceMs });
          await server.close();
          // Deliveries of trees that did not finish would follow them forever: stop them all.
          await app.apflow.webhooks.close();
          await store.close();
          logger.info("stopped");
        })();
        return closing;
      },
    };
  } catch (err) {
    await http?.close();
    await scheduler?.stop();
    if (node) await node.stop({ graceMs: 0 });
    else await engine.stop({ graceMs: 0 });
    await store.close();
    throw err;
  }
}

/** The server's version (its package.json, one level above src/ and dist/). */
function serverVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
      .version;
  } catch {
    return "0.0.0";
  }
}

/** The operator's allowed host names, plus the host of the public URL clients are told to use. */
export function allowedHostsOf(config: ServerConfig): string[] {
  const hosts = [...config.allowedHosts];
  if (config.publicUrl) {
    try {
      hosts.push(new URL(config.publicUrl).host);
    } catch {
      // An unparseable public URL is reported where it is used; it adds no host.
    }
  }
  return hosts;
}
