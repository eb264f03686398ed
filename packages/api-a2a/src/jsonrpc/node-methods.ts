import { ErrorCode, NODE_EVENT_TYPES, NODE_STATES } from "@aipartnerupflow/core";
import { z } from "zod";
import type { MethodDefinition } from "./methods.js";

/**
 * `nodes.*`: the node registry of the processes sharing the store (administrators only when auth
 * is on). Each method calls `ctx.service.nodes` only.
 */

const nodeId = z.string().min(1).max(200).describe("node id (the engine owner that leases name)");
const time = z.string().describe("ISO-8601 timestamp");

export const nodeSchema = z
  .object({
    nodeId: z.string(),
    host: z.string(),
    pid: z.number().int(),
    version: z.string(),
    executors: z.array(z.string()).describe("executor ids it can run (its claim is restricted to them)"),
    tags: z.array(z.string()),
    cpu: z.number().int().describe("CPU cores"),
    memory: z.number().describe("memory of its machine, bytes"),
    concurrency: z.number().int().describe("tasks run at once; 0 for a producer-only node"),
    running: z.number().int().describe("tasks running at its last heartbeat"),
    load: z.number().describe("1-minute load average per core at its last heartbeat"),
    heartbeatMs: z.number(),
    deadAfterMs: z.number(),
    draining: z.boolean(),
    startedAt: time,
    heartbeatAt: time,
    handedBackAt: time.nullable().describe("when the coordinator handed back its leases (dead)"),
    wakeups: z
      .object({
        transport: z.string().describe("postgres, redis, nats, amqp, or polling (no transport)"),
        connected: z.boolean().describe("false: the transport is down and the node polls until it is back"),
        since: time.describe("when connected last changed (or the node started)"),
      })
      .nullable()
      .describe("how it learns of new work, as of its last heartbeat (null: not reported yet)"),
    state: z.enum(NODE_STATES),
  })
  .describe("Node");

const eventSchema = z.object({
  seq: z.number().int(),
  type: z.enum(NODE_EVENT_TYPES),
  nodeId: z.string(),
  at: time,
  detail: z.record(z.string(), z.unknown()),
});

const NOT_FOUND = [ErrorCode.TaskNotFound, ErrorCode.Unauthorized] as const;

function define<P extends z.ZodType>(def: MethodDefinition<P>): MethodDefinition {
  return def as unknown as MethodDefinition;
}

export const NODE_METHODS: MethodDefinition[] = [
  define({
    name: "nodes.list",
    summary: "Every registered node with its state (active, idle, overloaded, draining, stale, dead)",
    params: z.object({}).default({}),
    result: z.object({ nodes: z.array(nodeSchema) }),
    errors: [ErrorCode.Unauthorized],
    mcp: {
      tool: "list_nodes",
      title: "List nodes",
      description:
        "The processes (servers, workers) sharing the store, each with its state, what it runs, its executors and tags, and its wake-up transport (connected or polling). Administrators only.",
      params: z.object({}),
    },
    handler: (_p, ctx) => ctx.service.nodes.list(ctx.principal),
  }),
  define({
    name: "nodes.get",
    summary: "One node with its state",
    params: z.object({ nodeId }),
    result: nodeSchema,
    errors: NOT_FOUND,
    mcp: { tool: "get_node", title: "Get a node", description: "One node with its state. Administrators only." },
    handler: (p, ctx) => ctx.service.nodes.get(ctx.principal, p.nodeId),
  }),
  define({
    name: "nodes.drain",
    summary: "Stop a node claiming (it finishes what it runs); draining: false lets it claim again",
    params: z.object({ nodeId, draining: z.boolean().default(true) }),
    result: nodeSchema,
    errors: NOT_FOUND,
    mcp: {
      tool: "drain_node",
      title: "Drain a node",
      description:
        "Stop a node claiming new tasks (it finishes what it runs); draining: false lets it claim again. Administrators only.",
    },
    handler: (p, ctx) => ctx.service.nodes.drain(ctx.principal, p.nodeId, p.draining),
  }),
  define({
    name: "nodes.requeue",
    summary: "Hand a dead node's running tasks back to the queue at once (instead of waiting out their leases)",
    params: z.object({
      nodeId,
      force: z.boolean().default(false).describe("also for a node that still looks alive (its tasks may run twice)"),
    }),
    result: z.object({
      nodeId: z.string(),
      state: z.enum(NODE_STATES).nullable().describe("its state before (null: not registered)"),
      tasks: z.array(z.string()).describe("tasks whose leases were handed back"),
    }),
    errors: [ErrorCode.Unauthorized],
    mcp: {
      tool: "requeue_node",
      title: "Requeue a dead node's tasks",
      description:
        "Hand a dead node's running tasks back to the queue now instead of after their leases; a node that still looks alive is refused unless force. Administrators only.",
    },
    handler: (p, ctx) => ctx.service.nodes.requeue(ctx.principal, p.nodeId, p.force),
  }),
  define({
    name: "nodes.events",
    summary: "Node and coordinator events (node.dead, node.leases_handed_back, coordinator.elected, ...)",
    params: z.object({
      afterSeq: z.number().int().min(0).optional(),
      nodeId: nodeId.optional(),
      limit: z.number().int().min(1).max(1000).default(100),
    }),
    result: z.object({ events: z.array(eventSchema) }),
    errors: [ErrorCode.Unauthorized],
    mcp: {
      tool: "list_node_events",
      title: "Node events",
      description:
        "Node and coordinator events: registrations, dead nodes, leases handed back, refused late writes, coordinator takeovers. Administrators only.",
    },
    handler: (p, ctx) => ctx.service.nodes.events(ctx.principal, p),
  }),
];
