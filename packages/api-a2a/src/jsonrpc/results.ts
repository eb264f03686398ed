import {
  EVENT_TYPES,
  TASK_STATUSES,
  jsonObjectSchema,
  jsonValueSchema,
  retryPolicySchema,
  taskErrorSchema,
  taskInputSchema,
} from "@aipartnerupflow/core";
import { z } from "zod";

/**
 * zod schemas of what the JSON-RPC methods answer. They are not used to validate answers at run
 * time (the types do that at compile time and the tests check real answers against them); they
 * generate the result half of the OpenAPI document.
 */
const timestamp = z.string().describe("ISO-8601 UTC timestamp");
const status = z.enum(TASK_STATUSES);
const executionStatus = z.enum(["running", "completed", "failed", "cancelled"]);

const waitAnswerSchema = z.object({
  by: z.string().nullable().describe("who answered (null: no auth, a signal without a user, or the deadline)"),
  at: timestamp,
  input: jsonValueSchema,
});

export const waitSchema = z
  .object({
    prompt: z.string(),
    schema: jsonObjectSchema.optional().describe("JSON Schema of an answer"),
    event: z.string().optional(),
    key: z.string().optional(),
    onTimeout: z.enum(["fail", "resume"]).optional(),
    approvers: z.array(z.string()).optional(),
    required: z.number().int().optional(),
    since: timestamp,
    deadline: timestamp.optional(),
    answers: z.array(waitAnswerSchema),
    resumedAt: timestamp.optional(),
    timedOut: z.boolean().optional(),
  })
  .describe("what a waiting task waits for (or the wait it was resumed from)");

export const taskSchema = z
  .object({
    id: z.string(),
    parentId: z.string().nullable(),
    rootId: z.string().describe("id of the tree's root task"),
    userId: z.string().nullable(),
    name: z.string(),
    status,
    priority: z.number().int().min(0).max(3).describe("0 urgent, 1 high, 2 normal, 3 low"),
    dependencies: z.array(z.object({ id: z.string(), required: z.boolean() })),
    inputs: jsonObjectSchema,
    params: jsonObjectSchema.describe("executorId and executor options"),
    schemas: jsonObjectSchema,
    result: jsonValueSchema.nullable(),
    error: taskErrorSchema.nullable(),
    progress: z.number().min(0).max(1),
    attempt: z.number().int().min(0),
    retry: retryPolicySchema.nullable(),
    runAt: timestamp.nullable(),
    originalTaskId: z.string().nullable().describe("the task this one was copied from"),
    hasChildren: z.boolean(),
    metadata: jsonObjectSchema,
    createdAt: timestamp,
    updatedAt: timestamp,
    startedAt: timestamp.nullable(),
    completedAt: timestamp.nullable(),
    wait: waitSchema.nullable(),
    placement: z
      .object({
        requires: z
          .array(z.string())
          .optional()
          .describe("node tags it needs: only a node holding every one claims it"),
        prefers: z.array(z.string()).optional().describe("node tags it would rather have (soft)"),
      })
      .nullable()
      .describe("where the task may and would rather run; null when it says nothing"),
    placedOn: z
      .string()
      .nullable()
      .describe("the node it is placed on (other nodes leave it alone while that node holds it); null: any node"),
  })
  .describe("a stored task");

export const taskNodeSchema = taskSchema
  .extend({
    get children() {
      return z.array(taskNodeSchema);
    },
  })
  .describe("a task with its children, nested by parent");

export const executionSchema = z
  .object({
    id: z.string(),
    rootId: z.string(),
    taskId: z.string().describe("the task the execution was requested for"),
    status: executionStatus,
    cancelRequested: z.boolean(),
    remaining: z.number().int().min(0),
    total: z.number().int().min(0),
    demo: z.boolean(),
    userId: z.string().nullable(),
    createdAt: timestamp,
    finishedAt: timestamp.nullable(),
  })
  .describe("one request to run (part of) a tree");

export const eventSchema = z
  .object({
    seq: z.number().int().describe("grows across the whole store; resume after it"),
    type: z.enum(EVENT_TYPES),
    taskId: z.string(),
    rootId: z.string(),
    executionId: z.string().nullable(),
    status,
    progress: z.number().optional(),
    message: z.string().optional(),
    result: jsonValueSchema.nullable().optional(),
    error: taskErrorSchema.nullable().optional(),
    data: jsonObjectSchema
      .optional()
      .describe(
        "task.waiting: {prompt, schema?, deadline?, event?, key?, answers, required}; task.resumed: {by, input}",
      ),
    at: timestamp,
  })
  .describe("a persisted state change");

export const attemptSchema = z.object({
  attempt: z.number().int(),
  startedAt: timestamp,
  endedAt: timestamp.nullable(),
  status,
  error: taskErrorSchema.nullable(),
  owner: z.string().nullable(),
});

export const executorSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  cancelable: z.boolean(),
  inputSchema: jsonObjectSchema.nullable().describe("JSON Schema of the executor's inputs"),
  outputSchema: jsonObjectSchema.nullable(),
  examples: z.array(z.object({ description: z.string().optional(), inputs: jsonObjectSchema })),
});

const counts = z.record(status, z.number().int().min(0));

export const createResult = z.object({
  rootId: z.string().describe("the first (or only) root created"),
  rootIds: z.array(z.string()),
  tasks: z.array(taskSchema),
  existing: z.boolean().optional().describe("true when a root's uniqueKey was held: the existing tree is answered"),
  existingRootIds: z.array(z.string()).optional().describe("the roots answered instead of creating new ones"),
  replayed: z.boolean().optional().describe("true when this answers an earlier request with the same idempotencyKey"),
});
const waitingBase = { detail: z.string(), since: timestamp.describe("when this reason began") };
export const waitingSchema = z
  .discriminatedUnion("reason", [
    z.object({
      reason: z.literal("dependencies"),
      ...waitingBase,
      dependencies: z.array(
        z.object({
          id: z.string(),
          name: z.string().nullable(),
          status: z.union([status, z.literal("missing")]),
          required: z.boolean(),
        }),
      ),
    }),
    z.object({ reason: z.literal("run_at"), ...waitingBase, runAt: timestamp }),
    z.object({
      reason: z.literal("retry_backoff"),
      ...waitingBase,
      retryAt: timestamp,
      attempt: z.number().int(),
      errorCode: z.string().nullable(),
    }),
    z.object({ reason: z.literal("not_executing"), ...waitingBase }),
    z.object({
      reason: z.literal("limit"),
      ...waitingBase,
      scope: z.enum(["global", "user", "root", "executor"]),
      ruleKey: z.string().nullable().describe("the rule's key; null when the scope's default applies"),
      key: z.string().nullable().describe("the user, root or executor id the task counts under (null: global)"),
      kind: z.enum(["maxRunning", "maxRunningRoots", "rate"]),
      executionId: z.string(),
    }),
    z.object({ reason: z.literal("queued"), ...waitingBase, executionId: z.string() }),
    z.object({
      reason: z.literal("no_capable_node"),
      ...waitingBase,
      executionId: z.string(),
      executor: z.string().nullable().describe("the task's executor (null for a grouping task)"),
      missingTags: z
        .array(z.string())
        .describe("required tags no live node with the executor holds (empty: no live node runs the executor)"),
    }),
    z.object({
      reason: z.literal("placed_on_node"),
      ...waitingBase,
      executionId: z.string(),
      nodeId: z.string().describe("the node the task is placed on, which holds it: it runs there next"),
    }),
    z.object({
      reason: z.literal("input"),
      ...waitingBase,
      prompt: z.string(),
      until: timestamp.nullable().describe("the wait's deadline"),
      answers: z.number().int(),
      required: z.number().int(),
    }),
    z.object({
      reason: z.literal("event"),
      ...waitingBase,
      prompt: z.string(),
      event: z.string(),
      key: z.string().nullable(),
      until: timestamp.nullable().describe("the wait's deadline"),
      answers: z.number().int(),
      required: z.number().int(),
    }),
  ])
  .describe("why a pending task has not started, or what a waiting task waits for, and since when");
export const taskWithWaitingSchema = taskSchema
  .extend({ waiting: waitingSchema.nullable().describe("null unless the task is pending or waiting") })
  .describe("a stored task, with why it waits");

export const detailResult = z.object({
  task: taskSchema,
  attempts: z.array(attemptSchema),
  executions: z.array(executionSchema),
  waiting: waitingSchema.nullable().describe("null unless the task is pending or waiting"),
});
export const deleteResult = z.object({ deleted: z.array(z.string()) });
export const listResult = z.object({ tasks: z.array(taskSchema), total: z.number().int().min(0) });
export const countResult = z.object({ counts, total: z.number().int().min(0) });
export const treeResult = z.union([
  z.object({ rootId: z.string(), tree: taskNodeSchema.nullable() }).describe("format: nested"),
  z.object({ rootId: z.string(), tasks: z.array(taskSchema) }).describe("format: flat (roots first)"),
]);
export const childrenResult = z.object({ tasks: z.array(taskSchema) });
export const copyResult = z.object({
  saved: z.boolean(),
  rootId: z.string().nullable().describe("the new tree's root when saved"),
  tasks: z.array(z.union([taskSchema, taskInputSchema])).describe("stored tasks, or task inputs when save: false"),
  executionId: z.string().optional().describe("with run: true, the copy's execution"),
  replayed: z.boolean().optional().describe("true when this answers an earlier request with the same idempotencyKey"),
});
export const executeResult = z
  .object({
    executionId: z.string(),
    rootId: z.string(),
    taskId: z.string(),
    status: executionStatus,
    tasks: z.array(taskSchema).optional().describe("with wait: true, the tree once finished"),
    replayed: z.boolean().optional().describe("true when this answers an earlier request with the same idempotencyKey"),
  })
  .describe("with stream: true the answer is text/event-stream: an `execution` frame, then one frame per event");
export const resumeResult = z.object({
  task: taskSchema,
  resumed: z
    .boolean()
    .describe("true: the wait ended and the task runs again; false: the answer was recorded, more are needed"),
});

export const signalResult = z.object({
  resumed: z.array(z.string()).describe("tasks answered"),
  skipped: z.array(z.object({ taskId: z.string(), reason: z.string() })).describe("waiting tasks not answered"),
});

export const cancelResult = z.object({
  cancelled: z.array(z.string()).describe("tasks cancelled now"),
  running: z.array(z.string()).describe("running tasks asked to stop"),
});
export const runningListResult = z.object({ executions: z.array(executionSchema) });
export const runningStatusResult = z.object({
  statuses: z.array(
    z.object({
      taskId: z.string(),
      found: z.boolean(),
      status: status.optional(),
      progress: z.number().optional(),
      running: z.boolean(),
      executionId: z.string().nullable().optional(),
    }),
  ),
});
export const runningCountResult = z.object({ count: z.number().int().min(0) });
export const eventsResult = z
  .object({ rootId: z.string(), events: z.array(eventSchema), lastSeq: z.number().int().min(0) })
  .describe("with stream: true the answer is text/event-stream, one frame per event");
const queueGroup = {
  ready: z.number().int().min(0),
  oldestReadySince: timestamp.nullable(),
  oldestReadyAgeMs: z.number().min(0),
};
const durations = z.array(
  z.object({ executorId: z.string().nullable(), count: z.number().int(), sumMs: z.number().min(0) }),
);
export const queueStatsResult = z.object({
  counts,
  total: z.number().int().min(0),
  runningExecutions: z.number().int().min(0),
  engine: z.object({ running: z.boolean(), active: z.number().int(), concurrency: z.number().int() }),
  queue: z
    .object({
      ...queueGroup,
      delayed: z.number().int().min(0).describe("queued, resolved, waiting for runAt or a retry backoff"),
      byUser: z.array(z.object({ userId: z.string().nullable(), ...queueGroup })),
      byExecutor: z.array(z.object({ executorId: z.string().nullable(), ...queueGroup })),
      truncated: z.boolean(),
      limitBlocked: z
        .array(
          z.object({
            scope: z.enum(["global", "user", "root", "executor"]),
            key: z.string().nullable().describe("the rule's key; null: the scope's default"),
            blocked: z.number().int().min(0),
          }),
        )
        .describe("per limit rule, the ready tasks it keeps back now (why-waiting reason `limit`)"),
    })
    .nullable()
    .describe("ready queue (non-admins: their own tasks); null when the store has no queue-stats facet"),
  events: z
    .object({
      claims: z.number().int(),
      completions: z.number().int(),
      failures: z.number().int(),
      retries: z.number().int(),
      cancellations: z.number().int(),
      leaseExpirations: z.number().int(),
    })
    .optional()
    .describe("admins: events this process's bus delivered since it started"),
  waitTime: durations.optional().describe("admins: ready → started, per executor"),
  runTime: durations.optional().describe("admins: started → finished, per executor"),
  scheduleFirings: z
    .array(z.object({ scheduleId: z.string(), count: z.number().int() }))
    .optional()
    .describe("admins: trees this process's schedulers fired (ticks and triggers), per schedule"),
});
export const generateResult = z.object({
  taskId: z.string(),
  result: jsonValueSchema.nullable().describe("the generated task array, under the generator's result shape"),
});
export const planResult = z.object({
  rootId: z.string().describe("the planned tree's root"),
  approvalTaskId: z.string().describe("the approval task the plan waits at: answer it with tasks.resume"),
  generationTaskId: z.string().describe("the generate_tree task that made the plan"),
  tasks: z.array(taskSchema),
  executionId: z.string().optional().describe("with run: true, the execution started"),
});
export const executorsResult = z.object({ executors: z.array(executorSchema) });
export const healthResult = z.object({
  status: z.literal("ok"),
  version: z.string(),
  uptimeSeconds: z.number().int().min(0),
  engine: z.enum(["running", "idle"]),
});

/** Shared schemas published under these names in the OpenAPI components. */
export const NAMED_SCHEMAS: ReadonlyArray<[string, z.ZodType]> = [
  ["Task", taskSchema],
  ["TaskNode", taskNodeSchema],
  ["TaskInput", taskInputSchema],
  ["Execution", executionSchema],
  ["TaskEvent", eventSchema],
  ["Attempt", attemptSchema],
  ["Executor", executorSchema],
];
