import { hostname } from "node:os";
import { createLogger } from "@aipartnerupflow/api-a2a";
import { randomUUID } from "node:crypto";
import { Engine, Scheduler, schedulesOf } from "@aipartnerupflow/core";
import { electionFor, Node, NodeEventBus, nodeConfigFromEnv } from "@aipartnerupflow/distributed";
import { type Command, Option } from "commander";
import type { CliContext } from "../context.js";
import { usageError } from "../errors.js";
import { cliVersion } from "../program.js";
import { describeDatabase, openStore } from "../store.js";
import { concurrencyOption, examples, parseNonNegativeInt, parsePositiveInt } from "./options.js";
import { untilSignal } from "./serve.js";

interface WorkerOptions {
  concurrency?: number;
  executors?: string;
  tags?: string;
  nodeId?: string;
  leaseMs?: number;
  heartbeatMs?: number;
  deadAfterMs?: number;
  pollMs?: number;
  wakeups?: string;
  graceMs: number;
  logLevel: "debug" | "info" | "warn" | "error" | "silent";
}

const list = (value: string | undefined): string[] | undefined =>
  value
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * `apflow worker`: a node without an HTTP server. It runs the engine on the shared store
 * (claiming only tasks of the executors it has), registers in the node registry, heartbeats,
 * takes part in the coordinator election, and stays up, idle or not, until SIGTERM/SIGINT; then
 * it stops claiming, lets running tasks finish within `--grace-ms`, hands back the rest and
 * deregisters.
 */
export function registerWorker(program: Command, ctx: CliContext): void {
  const worker = program
    .command("worker")
    .description("run a worker node on the shared store (PostgreSQL for many nodes): claims and runs tasks, no HTTP")
    .addOption(concurrencyOption())
    .option("--executors <ids>", "comma-separated allow-list of executor ids to run (default: every loaded one)")
    .option("--tags <tags>", "comma-separated node tags (APFLOW_NODE_TAGS)")
    .option("--node-id <id>", "node id, the owner its leases carry (APFLOW_NODE_ID; default host:pid:random)")
    .addOption(
      new Option("--lease-ms <ms>", "lease length (APFLOW_LEASE_MS; default 30000)").argParser(
        parsePositiveInt("--lease-ms"),
      ),
    )
    .addOption(
      new Option("--heartbeat-ms <ms>", "heartbeat period (APFLOW_HEARTBEAT_MS; default 2000)").argParser(
        parsePositiveInt("--heartbeat-ms"),
      ),
    )
    .addOption(
      new Option(
        "--dead-after-ms <ms>",
        "silent this long, a node counts as dead and its leases are handed back (APFLOW_DEAD_AFTER_MS; default 5 beats, >= 10 s)",
      ).argParser(parsePositiveInt("--dead-after-ms")),
    )
    .addOption(
      new Option("--poll-ms <ms>", "store poll period (default 1000)").argParser(parsePositiveInt("--poll-ms")),
    )
    .option(
      "--wakeups <transport>",
      "wake-ups (APFLOW_WAKEUPS): postgres, postgres-app, redis://…, nats://…, amqp://…, polling or none (default: postgres on a PostgreSQL store, none otherwise)",
    )
    .addOption(
      new Option("--grace-ms <ms>", "on SIGTERM, how long running tasks may finish before they are handed back")
        .argParser(parseNonNegativeInt("--grace-ms"))
        .default(10_000),
    )
    .addOption(
      new Option("--log-level <level>", "log level of the JSON log on stdout")
        .choices(["debug", "info", "warn", "error", "silent"])
        .default("info"),
    )
    .action(async (options: WorkerOptions, command: Command) => {
      ctx.requireLocal(command, "worker");
      const settings = ctx.settings(command);
      let env: ReturnType<typeof nodeConfigFromEnv>;
      try {
        env = nodeConfigFromEnv(ctx.io.env);
      } catch (err) {
        throw usageError((err as Error).message);
      }
      if (env.execute === false)
        throw usageError("APFLOW_EXECUTE=0 makes a producer-only node: a worker always executes");
      const allow = list(options.executors) ?? settings.executors ?? undefined;
      if (allow) ctx.registry.setAllowedExecutors(allow);
      const executors = ctx.registry.listExecutors().map((e) => e.id);
      if (allow) {
        const missing = allow.filter((id) => !executors.includes(id));
        if (missing.length > 0)
          throw usageError(`--executors names executors no plugin provides: ${missing.join(", ")}`);
      }
      const logger = createLogger({ level: options.logLevel });
      const store = await openStore(settings.database, ctx.registry);
      const tags = list(options.tags) ?? env.tags ?? [];
      const nodeId = options.nodeId ?? env.nodeId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
      const engine = new Engine({
        store,
        registry: ctx.registry,
        // Carries other nodes' events too when wake-ups fan them out (the coordinator's scheduler).
        bus: new NodeEventBus(),
        owner: nodeId,
        concurrency: options.concurrency ?? settings.concurrency,
        leaseMs: options.leaseMs ?? env.leaseMs ?? 30_000,
        ...(options.pollMs ? { pollIntervalMs: options.pollMs } : {}),
        claimExecutors: executors,
        claimTags: tags,
        logger,
      });
      const heartbeatMs = options.heartbeatMs ?? env.heartbeatMs;
      const deadAfterMs = options.deadAfterMs ?? env.deadAfterMs;
      let node: Node;
      try {
        node = new Node({
          engine,
          version: cliVersion(),
          tags,
          executors,
          ...(heartbeatMs ? { heartbeatMs } : {}),
          ...(deadAfterMs ? { deadAfterMs } : {}),
          election: electionFor(settings.database),
          wakeups: { spec: options.wakeups ?? env.wakeups, databaseUrl: settings.database },
          // Nobody streams from a worker: no event reads on every wake-up.
          fanout: false,
          ...(schedulesOf(store) ? { scheduler: () => new Scheduler({ engine, logger }) } : {}),
          keepAlive: true,
          logger,
        });
        await node.start();
      } catch (err) {
        await store.close();
        throw (err as { code?: unknown }).code === -32602 ? usageError((err as Error).message) : err;
      }
      const where = describeDatabase(settings.database, ctx.registry);
      const wakeups = node.wakeups?.transport.name ?? "none";
      logger.info(
        { nodeId, store: where, executors, concurrency: engine.concurrency, wakeups },
        "apflow worker started",
      );
      ctx.err(
        `apflow worker ${nodeId} on ${where} (${executors.length} executors, wake-ups ${wakeups}); Ctrl-C stops it`,
      );
      const signal = await untilSignal();
      logger.info({ signal }, "stopping: claiming stopped, running tasks finishing");
      await node.stop({ graceMs: options.graceMs });
      await store.close();
    });
  examples(worker, [
    "DATABASE_URL=postgres://localhost/apflow apflow worker --concurrency 20",
    "apflow worker --executors command,http --tags gpu,eu --node-id worker-1",
    "APFLOW_PLUGINS=./my-plugin.mjs apflow worker        # plugins as for apflow serve",
  ]);
}
