import {
  ApflowClient,
  ApflowRpcError,
  type NodeEventJson,
  type NodeJson,
  NodeOperations,
  type Principal,
} from "@aipartnerupflow/api-a2a";
import { ApflowError, type ErrorCode } from "@aipartnerupflow/core";
import type { Command } from "commander";
import type { CliContext } from "../context.js";
import { CliError, ExitCode, isUnreachable } from "../errors.js";
import { renderTable } from "../render/table.js";
import { redactUrl } from "../store.js";
import { examples, jsonOption } from "./options.js";

interface RequeueResult {
  nodeId: string;
  state: string | null;
  tasks: string[];
}

/** The node operations, on the local store or on a server (`--server`). */
interface NodesBackend {
  list(): Promise<{ nodes: NodeJson[] }>;
  get(id: string): Promise<NodeJson>;
  drain(id: string, draining: boolean): Promise<NodeJson>;
  requeue(id: string, force: boolean): Promise<RequeueResult>;
  events(query: { nodeId?: string; limit: number }): Promise<{ events: NodeEventJson[] }>;
  close(): Promise<void>;
}

const LOCAL: Principal = { userId: null, admin: true, authenticated: false };

async function openNodes(ctx: CliContext, command: Command): Promise<NodesBackend> {
  const settings = ctx.settings(command);
  if (settings.server) {
    const location = redactUrl(settings.server);
    const client = new ApflowClient({ url: settings.server, ...(settings.token ? { token: settings.token } : {}) });
    const call = async <T>(method: string, params: unknown): Promise<T> => {
      try {
        return await client.call<T>(method, params);
      } catch (err) {
        if (err instanceof ApflowRpcError) throw new ApflowError(err.code as ErrorCode, err.message, err.data);
        if (isUnreachable(err) || (err instanceof TypeError && /fetch failed/.test(err.message)))
          throw new CliError(`cannot reach the server at ${location}`, ExitCode.Unreachable, [], { cause: err });
        throw err;
      }
    };
    return {
      list: () => call("nodes.list", {}),
      get: (nodeId) => call("nodes.get", { nodeId }),
      drain: (nodeId, draining) => call("nodes.drain", { nodeId, draining }),
      requeue: (nodeId, force) => call("nodes.requeue", { nodeId, force }),
      events: (query) => call("nodes.events", query),
      close: async () => {},
    };
  }
  const backend = await ctx.localBackend(command, settings);
  const ops = new NodeOperations(backend.engine);
  return {
    list: () => ops.list(LOCAL),
    get: (id) => ops.get(LOCAL, id),
    drain: (id, draining) => ops.drain(LOCAL, id, draining),
    requeue: (id, force) => ops.requeue(LOCAL, id, force),
    events: (query) => ops.events(LOCAL, query),
    close: () => backend.close(),
  };
}

function withNodes<A extends unknown[]>(
  ctx: CliContext,
  handler: (nodes: NodesBackend, ...args: A) => Promise<void>,
): (...params: unknown[]) => Promise<void> {
  return async (...params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    const nodes = await openNodes(ctx, command);
    try {
      await handler(nodes, ...(params.slice(0, -1) as A));
    } finally {
      await nodes.close();
    }
  };
}

const ago = (iso: string): string => `${Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 100) / 10)}s ago`;

/** `redis`, `redis (down: polling)`, or `-` before its first report. */
const wakeupsCell = (n: NodeJson): string =>
  n.wakeups === null ? "-" : n.wakeups.connected ? n.wakeups.transport : `${n.wakeups.transport} (down: polling)`;

/** `apflow nodes list|get|drain|requeue|events`: the node registry of the shared store. */
export function registerNodes(program: Command, ctx: CliContext): void {
  const nodes = program
    .command("nodes")
    .description("the nodes (servers, workers) sharing the store: list, inspect, drain, requeue a dead one's tasks");
  const list = jsonOption(nodes.command("list").description("every registered node with its state")).action(
    withNodes(ctx, async (backend, opts: { json?: boolean }) => {
      const { nodes: all } = await backend.list();
      if (opts.json) return ctx.json({ nodes: all });
      if (all.length === 0) return ctx.out("no nodes registered");
      ctx.out(
        renderTable(
          ["node", "state", "host:pid", "running", "concurrency", "executors", "tags", "wake-ups", "heartbeat"],
          all.map((n) => [
            n.nodeId,
            n.state,
            `${n.host}:${n.pid}`,
            String(n.running),
            String(n.concurrency),
            String(n.executors.length),
            n.tags.join(","),
            wakeupsCell(n),
            ago(n.heartbeatAt),
          ]),
        ),
      );
    }),
  );
  examples(list, ["apflow nodes list", "apflow nodes list --server http://localhost:8000 --json"]);
  jsonOption(nodes.command("get").description("one node").argument("<nodeId>")).action(
    withNodes(ctx, async (backend, nodeId: string, opts: { json?: boolean }) => {
      const n = await backend.get(nodeId);
      if (opts.json) return ctx.json(n);
      ctx.out([
        `${n.nodeId}  ${n.state}`,
        `  host ${n.host} pid ${n.pid} version ${n.version}`,
        `  running ${n.running}/${n.concurrency}  load ${n.load.toFixed(2)}  cpu ${n.cpu}`,
        `  executors ${n.executors.join(", ") || "(none)"}`,
        `  tags ${n.tags.join(", ") || "(none)"}`,
        `  wake-ups ${wakeupsCell(n)}${n.wakeups ? ` since ${n.wakeups.since}` : ""}`,
        `  started ${n.startedAt}  heartbeat ${n.heartbeatAt} (${ago(n.heartbeatAt)})${n.draining ? "  draining" : ""}`,
      ]);
    }),
  );
  jsonOption(
    nodes
      .command("drain")
      .description("stop a node claiming (it finishes what it runs)")
      .argument("<nodeId>")
      .option("--undo", "let it claim again"),
  ).action(
    withNodes(ctx, async (backend, nodeId: string, opts: { undo?: boolean; json?: boolean }) => {
      const n = await backend.drain(nodeId, !opts.undo);
      if (opts.json) return ctx.json(n);
      ctx.out(opts.undo ? `${nodeId} claims again (${n.state})` : `${nodeId} is draining: it claims no new task`);
    }),
  );
  const requeue = jsonOption(
    nodes
      .command("requeue")
      .description("hand a dead node's running tasks back to the queue now (instead of after their leases)")
      .argument("<nodeId>")
      .option("--force", "also when the node still looks alive (its tasks may then run twice)"),
  ).action(
    withNodes(ctx, async (backend, nodeId: string, opts: { force?: boolean; json?: boolean }) => {
      const r = await backend.requeue(nodeId, opts.force ?? false);
      if (opts.json) return ctx.json(r);
      ctx.out(`${r.tasks.length} task(s) of ${nodeId} (${r.state ?? "not registered"}) handed back to the queue`);
    }),
  );
  examples(requeue, ["apflow nodes requeue worker-3", "apflow nodes requeue host:1234:ab12cd34 --force"]);
  jsonOption(
    nodes
      .command("events")
      .description("node and coordinator events (dead nodes, hand-backs, coordinator takeovers)")
      .option("--node <nodeId>", "one node's events"),
  ).action(
    withNodes(ctx, async (backend, opts: { node?: string; json?: boolean }) => {
      const { events } = await backend.events({ ...(opts.node ? { nodeId: opts.node } : {}), limit: 1000 });
      if (opts.json) return ctx.json({ events });
      ctx.out(events.map((e) => `${e.seq}  ${e.at}  ${e.type}  ${e.nodeId}  ${JSON.stringify(e.detail)}`));
    }),
  );
}
