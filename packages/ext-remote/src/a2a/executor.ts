import { randomUUID } from "node:crypto";
import {
  type ExecutorContext,
  type ExecutorDefinition,
  type JsonValue,
  OutboundRefused,
  TaskFailure,
} from "@aipartnerupflow/core";
import {
  type Artifact,
  type Message,
  type Part,
  Role,
  type StreamResponse,
  type Task as RemoteTask,
  TaskState,
} from "@a2a-js/sdk";
import {
  type Client,
  ClientFactory,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
} from "@a2a-js/sdk/client";
import { outboundPolicy, type RemoteConfig, type RemoteOptions, resolveRemoteConfig } from "../config.js";
import { fail, parseInputs, RemoteErrorCode, refuse } from "../errors.js";
import { createGuardedFetch } from "../fetch.js";
import { checkHeaderNames } from "../headers.js";
import { reveal } from "../secrets.js";
import { findCause, scrub } from "../util.js";
import { type A2aInputs, type A2aPart, type A2aResult, a2aInputSchema, a2aResultSchema } from "./schema.js";

export const A2A_EXECUTOR_ID = "a2a";

/** How long cancelling the remote task may take once this task is cancelled or timed out. */
const CANCEL_TIMEOUT_MS = 5000;

/** The `a2a` executor: delegate a step to a remote A2A agent (configuration read per run). */
export function createA2aExecutor(
  options?: RemoteOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ExecutorDefinition<A2aInputs, A2aResult> {
  return {
    id: A2A_EXECUTOR_ID,
    name: "Remote A2A agent",
    description:
      "Sends a message to a remote A2A agent and waits for its task: status updates become progress, artifacts the result, cancelling cancels the remote task. An aipartnerupflow server runs a {tasks} tree sent as data.",
    tags: ["remote", "a2a", "agent"],
    inputSchema: a2aInputSchema,
    outputSchema: a2aResultSchema,
    cancelable: true,
    demoResult: (inputs) => demoA2aResult(inputs),
    examples: [
      {
        description: "Ask a remote agent",
        inputs: { agentUrl: "https://agent.example.com", message: { text: "Summarize today's incidents" } },
      },
      {
        description: "Run a sub-tree on another aipartnerupflow server",
        inputs: {
          agentUrl: "https://flows.example.com",
          message: {
            data: {
              tasks: [{ name: "remote-info", params: { executorId: "system_info" }, inputs: { resource: "cpu" } }],
            },
          },
        },
      },
    ],
    execute: (inputs, ctx) => executeA2a(inputs, ctx, resolveRemoteConfig(options, env)),
  };
}

const STATE_NAMES: Record<number, string> = {
  [TaskState.TASK_STATE_SUBMITTED]: "submitted",
  [TaskState.TASK_STATE_WORKING]: "working",
  [TaskState.TASK_STATE_COMPLETED]: "completed",
  [TaskState.TASK_STATE_FAILED]: "failed",
  [TaskState.TASK_STATE_CANCELED]: "canceled",
  [TaskState.TASK_STATE_INPUT_REQUIRED]: "input-required",
  [TaskState.TASK_STATE_REJECTED]: "rejected",
  [TaskState.TASK_STATE_AUTH_REQUIRED]: "auth-required",
};

function stateName(state: TaskState | undefined): string {
  return state === undefined ? "unknown" : (STATE_NAMES[state] ?? "unknown");
}

const FINAL = new Set<TaskState>([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
  TaskState.TASK_STATE_INPUT_REQUIRED,
  TaskState.TASK_STATE_AUTH_REQUIRED,
]);

export async function executeA2a(raw: unknown, ctx: ExecutorContext, config: RemoteConfig): Promise<A2aResult> {
  const inputs = parseInputs(a2aInputSchema, raw);
  checkHeaderNames(inputs.headers, "inputs.headers");
  const revealed: string[] = [];
  const extra = new Headers();
  for (const [name, value] of Object.entries(inputs.headers ?? {})) {
    const v = reveal(value, ctx.secrets, `inputs.headers.${name}`);
    if (typeof value !== "string") revealed.push(v);
    extra.set(name, v);
  }
  if (inputs.bearerToken !== undefined) {
    const token = reveal(inputs.bearerToken, ctx.secrets, "inputs.bearerToken");
    if (typeof inputs.bearerToken !== "string") revealed.push(token);
    extra.set("authorization", `Bearer ${token}`);
  }
  const guarded = createGuardedFetch({ policy: outboundPolicy(config), what: "inputs.agentUrl", maxRedirects: 3 });
  const fetchImpl = ((input: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    extra.forEach((value, name) => {
      if (!headers.has(name)) headers.set(name, value);
    });
    return guarded(input, { ...init, headers });
  }) as typeof fetch;

  const timeoutMs = inputs.timeoutMs ?? config.a2a.defaultTimeoutMs;
  const timeout = timeoutMs !== undefined ? AbortSignal.timeout(timeoutMs) : undefined;
  const signal = timeout ? AbortSignal.any([ctx.signal, timeout]) : ctx.signal;
  const agent = scrub(inputs.agentUrl, revealed);
  const mapError = (err: unknown, doing: string): never => {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (timeout?.aborted) {
      throw fail(RemoteErrorCode.A2aTimeout, `the remote agent ${agent} did not finish within ${timeoutMs} ms`, {
        agentUrl: agent,
        timeoutMs: timeoutMs ?? null,
      });
    }
    if (err instanceof TaskFailure) throw err;
    const refused = findCause(err, (e): e is OutboundRefused => e instanceof OutboundRefused);
    if (refused) {
      throw refuse(RemoteErrorCode.OutboundRefused, scrub(refused.message, revealed), {
        url: scrub(refused.target ?? agent, revealed),
      });
    }
    throw fail(RemoteErrorCode.A2aError, `${doing} ${agent} failed: ${scrub(messageOf(err), revealed)}`, {
      agentUrl: agent,
    });
  };

  let client: Client;
  try {
    const resolver = new DefaultAgentCardResolver({ fetchImpl, legacyCompat: { enabled: true } });
    const factory = new ClientFactory({
      transports: [
        new JsonRpcTransportFactory({ fetchImpl, legacyCompat: { enabled: true } }),
        new RestTransportFactory({ fetchImpl, legacyCompat: { enabled: true } }),
      ],
      cardResolver: resolver,
    });
    client = await factory.createFromUrl(inputs.agentUrl, inputs.cardPath);
  } catch (err) {
    return mapError(err, "reading the agent card of");
  }

  // Resumed after the remote agent asked for input: the answer goes to that remote task.
  const answering = remoteQuestionOf(ctx);
  if (answering && ctx.resume?.timedOut) {
    await client
      .cancelTask(
        { tenant: "", id: answering.remoteTaskId, metadata: { reason: "no answer in time" } },
        {
          signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS),
        },
      )
      .catch(() => undefined);
    throw refuse(
      RemoteErrorCode.A2aInputRequired,
      `the remote task ${answering.remoteTaskId} at ${agent} asked for input and no answer came in time; it was cancelled`,
      { agentUrl: agent, remoteTaskId: answering.remoteTaskId, state: "input-required" },
    );
  }
  const message: Message = {
    messageId: randomUUID(),
    contextId: answering?.contextId ?? "",
    taskId: answering?.remoteTaskId ?? "",
    role: Role.ROLE_USER,
    parts: answering
      ? answerParts(ctx.resumeInput)
      : [
          ...(inputs.message.text !== undefined ? [textPart(inputs.message.text)] : []),
          ...(inputs.message.data !== undefined ? [dataPart(inputs.message.data)] : []),
        ],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
  const request = {
    tenant: "",
    message,
    configuration: {
      acceptedOutputModes: [],
      taskPushNotificationConfig: undefined,
      returnImmediately: !inputs.blocking,
    },
    metadata: undefined,
  };

  if (!inputs.blocking) {
    try {
      const answer = await client.sendMessage(request, { signal });
      return isMessage(answer) ? fromMessage(answer) : fromTask(answer, stateName(answer.status?.state));
    } catch (err) {
      return mapError(err, "sending a message to");
    }
  }

  let remote: RemoteTask | undefined;
  let answer: Message | undefined;
  let remoteId: string | undefined;
  const artifacts = new Map<string, Artifact>();
  let last: { state: TaskState; message: Message | undefined } | undefined;
  let cancelling: Promise<void> | undefined;
  const cancelRemote = (why: string): Promise<void> => {
    cancelling ??= remoteId ? cancelOnce(remoteId, why) : undefined;
    return cancelling ?? Promise.resolve();
  };
  const cancelOnce = async (id: string, why: string): Promise<void> => {
    try {
      await client.cancelTask(
        { tenant: "", id, metadata: { reason: why } },
        {
          signal: AbortSignal.timeout(CANCEL_TIMEOUT_MS),
        },
      );
      ctx.log.info({ remoteTaskId: id }, "a2a: remote task cancelled");
    } catch (err) {
      ctx.log.warn({ remoteTaskId: id, err: messageOf(err) }, "a2a: cancelling the remote task failed");
    }
  };
  const onAbort = () => void cancelRemote(ctx.signal.aborted ? "cancelled by the calling task" : "timed out");
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for await (const item of client.sendMessageStream(request, { signal })) {
      const update = item as StreamResponse;
      const payload = update.payload;
      if (!payload) continue;
      if (payload.$case === "message") {
        answer = payload.value;
        break;
      }
      if (payload.$case === "task") {
        remote = payload.value;
        remoteId ??= remote.id;
        for (const a of remote.artifacts) artifacts.set(a.artifactId, a);
        if (remote.status) last = { state: remote.status.state, message: remote.status.message };
        ctx.log.debug({ remoteTaskId: remoteId, agentUrl: agent }, "a2a: remote task created");
      } else if (payload.$case === "statusUpdate") {
        const status = payload.value.status;
        remoteId ??= payload.value.taskId;
        if (status) {
          last = { state: status.state, message: status.message };
          const note = progressNote(status.state, status.message, payload.value.metadata);
          if (note) await ctx.reportProgress(null, note).catch(() => undefined);
        }
      } else if (payload.$case === "artifactUpdate") {
        remoteId ??= payload.value.taskId;
        const a = payload.value.artifact;
        if (a) {
          const before = artifacts.get(a.artifactId);
          artifacts.set(
            a.artifactId,
            payload.value.append && before ? { ...before, parts: [...before.parts, ...a.parts] } : a,
          );
        }
      }
      if (last && FINAL.has(last.state)) break;
    }
    if (!answer && remoteId) {
      // Read the task once more: the stream may have ended early, and a server may attach its
      // artifacts to the task without streaming them (an aipartnerupflow server does).
      const ended = last && FINAL.has(last.state);
      try {
        const got = await client.getTask({ tenant: "", id: remoteId }, { signal });
        remote = got;
        for (const a of got.artifacts) artifacts.set(a.artifactId, a);
        if (got.status && (!ended || FINAL.has(got.status.state))) {
          last = { state: got.status.state, message: got.status.message ?? last?.message };
        }
      } catch (err) {
        if (!ended) throw err;
        ctx.log.debug({ remoteTaskId: remoteId, err: messageOf(err) }, "a2a: reading the finished remote task failed");
      }
    }
  } catch (err) {
    signal.removeEventListener("abort", onAbort);
    if (signal.aborted) await cancelRemote("aborted");
    return mapError(err, "running the remote task of");
  }
  signal.removeEventListener("abort", onAbort);

  if (answer) return fromMessage(answer);
  const state = last?.state;
  const result = fromTask(
    { id: remoteId ?? remote?.id ?? "", contextId: remote?.contextId ?? "", artifacts: [...artifacts.values()] },
    stateName(state),
  );
  const statusText = last?.message ? textOf(last.message.parts) : "";
  const details = {
    agentUrl: agent,
    remoteTaskId: result.remoteTaskId,
    state: result.state,
    message: scrub(statusText, revealed),
    data: result.data,
  };
  switch (state) {
    case TaskState.TASK_STATE_COMPLETED:
      return result;
    case TaskState.TASK_STATE_FAILED:
    case TaskState.TASK_STATE_REJECTED:
      throw fail(
        RemoteErrorCode.A2aRemoteFailed,
        `the remote task ${result.remoteTaskId} at ${agent} ${result.state === "rejected" ? "was rejected" : "failed"}${statusText ? `: ${scrub(statusText, revealed)}` : ""}`,
        details,
      );
    case TaskState.TASK_STATE_CANCELED:
      throw refuse(
        RemoteErrorCode.A2aRemoteCanceled,
        `the remote task ${result.remoteTaskId} at ${agent} was cancelled`,
        details,
      );
    case TaskState.TASK_STATE_INPUT_REQUIRED: {
      // The remote agent's question becomes this task's: it waits (no slot held) and, once
      // answered, runs again and sends the answer to the same remote task.
      if (!result.remoteTaskId)
        throw fail(RemoteErrorCode.A2aError, `the remote agent ${agent} asked for input without a task`, details);
      const question: RemoteQuestion = { remoteTaskId: result.remoteTaskId, contextId: result.contextId };
      await ctx.checkpoint({ [QUESTION_KEY]: { ...question } });
      const schema = last?.message ? questionSchema(last.message.parts) : undefined;
      return ctx.waitFor({
        prompt: `${agent} asks: ${scrub(statusText, revealed) || "input required"}`.slice(0, 10_000),
        ...(schema ? { schema } : {}),
      });
    }
    case TaskState.TASK_STATE_AUTH_REQUIRED:
      // Credentials cannot travel through a task's answer: fail clearly and do not leave the remote task waiting.
      await cancelRemote("the calling task cannot answer authentication requests");
      throw refuse(
        RemoteErrorCode.A2aInputRequired,
        `the remote task ${result.remoteTaskId} at ${agent} asks for authentication${statusText ? ` (${scrub(statusText, revealed)})` : ""}; answering it is not supported, the remote task was cancelled`,
        details,
      );
    default:
      throw fail(
        RemoteErrorCode.A2aError,
        `the remote task ${result.remoteTaskId || "(none)"} at ${agent} ended the stream in state ${result.state}`,
        details,
      );
  }
}

/** Where a remote question is remembered between the run that met it and the run that answers it. */
const QUESTION_KEY = "a2aQuestion";

interface RemoteQuestion {
  remoteTaskId: string;
  contextId: string;
}

/** The remote question this run answers (it resumes a wait begun at a remote input-required). */
function remoteQuestionOf(ctx: ExecutorContext): RemoteQuestion | null {
  if (!ctx.resume) return null;
  const saved = (ctx.lastCheckpoint as Record<string, unknown> | null)?.[QUESTION_KEY] as
    | { remoteTaskId?: unknown; contextId?: unknown }
    | undefined;
  if (!saved || typeof saved.remoteTaskId !== "string") return null;
  return { remoteTaskId: saved.remoteTaskId, contextId: typeof saved.contextId === "string" ? saved.contextId : "" };
}

/** The answer as the reply's parts: text for a string, a data part otherwise. */
function answerParts(input: JsonValue | undefined): Part[] {
  if (typeof input === "string") return [textPart(input)];
  return [dataPart(input ?? {})];
}

/** The JSON Schema a question asks for, when its status message carries one (`{schema}` in a data part, as this project's server sends). */
function questionSchema(parts: Part[]): Record<string, JsonValue> | undefined {
  const datas = parts.filter((p) => p.content?.$case === "data");
  // Several questions at once cannot become one wait's schema.
  if (datas.length !== 1) return undefined;
  const value = datas[0]?.content?.value as { schema?: unknown } | undefined;
  const schema = value?.schema;
  return schema &&
    typeof schema === "object" &&
    !Array.isArray(schema) &&
    (schema as { type?: unknown }).type === "object"
    ? (schema as Record<string, JsonValue>)
    : undefined;
}

/** What one remote status update says as a progress message, or nothing. */
function progressNote(
  state: TaskState,
  message: Message | undefined,
  metadata: Record<string, unknown> | undefined,
): string | undefined {
  const text = message ? textOf(message.parts) : "";
  if (text) return `remote ${stateName(state)}: ${text}`;
  // An aipartnerupflow server sends each task event in metadata.event.
  const event = metadata?.event as { type?: unknown; taskId?: unknown; message?: unknown } | undefined;
  if (event && typeof event.type === "string") {
    const msg = typeof event.message === "string" && event.message ? `: ${event.message}` : "";
    return `remote ${event.type}${typeof event.taskId === "string" ? ` ${event.taskId}` : ""}${msg}`;
  }
  return state === TaskState.TASK_STATE_WORKING ? undefined : `remote ${stateName(state)}`;
}

function isMessage(value: unknown): value is Message {
  return !!value && typeof value === "object" && "messageId" in value && "role" in value;
}

function fromMessage(message: Message): A2aResult {
  const parts = message.parts.map(toPart);
  return {
    remoteTaskId: message.taskId || null,
    contextId: message.contextId,
    state: "completed",
    artifacts: [{ artifactId: message.messageId, name: "message", parts }],
    text: textOf(message.parts),
    data: firstData(parts),
  };
}

function fromTask(task: Pick<RemoteTask, "id" | "contextId" | "artifacts">, state: string): A2aResult {
  const artifacts = task.artifacts.map((a) => ({ artifactId: a.artifactId, name: a.name, parts: a.parts.map(toPart) }));
  const all = artifacts.flatMap((a) => a.parts);
  return {
    remoteTaskId: task.id || null,
    contextId: task.contextId,
    state,
    artifacts,
    text: all
      .filter((p): p is { kind: "text"; text: string } => p.kind === "text")
      .map((p) => p.text)
      .join("\n"),
    data: firstData(all),
  };
}

function firstData(parts: A2aPart[]): JsonValue {
  const found = parts.find((p): p is { kind: "data"; data: JsonValue } => p.kind === "data");
  return found ? found.data : null;
}

function toPart(part: Part): A2aPart {
  const c = part.content;
  const media = part.mediaType ? { mediaType: part.mediaType } : {};
  switch (c?.$case) {
    case "text":
      return { kind: "text", text: c.value };
    case "data":
      return { kind: "data", data: (c.value ?? null) as JsonValue };
    case "url":
      return { kind: "url", url: c.value, ...media };
    case "raw":
      return { kind: "raw", base64: Buffer.from(c.value).toString("base64"), ...media };
    default:
      return { kind: "data", data: null };
  }
}

function textOf(parts: Part[]): string {
  return parts
    .map((p) => (p.content?.$case === "text" ? p.content.value : ""))
    .filter((t) => t.length > 0)
    .join("\n");
}

function textPart(value: string): Part {
  return { content: { $case: "text", value }, metadata: undefined, filename: "", mediaType: "text/plain" };
}

function dataPart(value: unknown): Part {
  return { content: { $case: "data", value }, metadata: undefined, filename: "", mediaType: "application/json" };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

/** What demo mode returns: a completed remote task echoing the message. */
export function demoA2aResult(inputs: Partial<A2aInputs> | undefined): A2aResult {
  const text =
    typeof inputs?.message?.text === "string" ? `[demo] the agent would answer: ${inputs.message.text}` : "[demo]";
  return {
    remoteTaskId: "demo-remote-task",
    contextId: "demo-context",
    state: "completed",
    artifacts: [{ artifactId: "demo", name: "demo", parts: [{ kind: "text", text }] }],
    text,
    data: null,
  };
}
