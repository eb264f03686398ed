import { randomUUID } from "node:crypto";
import { A2A_MAX_PUSH_CONFIGS, type JsonValue, type Logger } from "@aipartnerupflow/core";
import { type StreamResponse, type Task as A2aTask, TaskPushNotificationConfig } from "@a2a-js/sdk";
import { V03PushNotificationSerializer } from "@a2a-js/sdk/compat/v0_3/server";
import { RequestMalformedError } from "@a2a-js/sdk/errors";
import {
  type PushNotificationSender,
  type PushNotificationSerializer,
  type PushNotificationStore,
  type ServerCallContext,
  type StoredPushNotificationConfig,
  V1PushNotificationSerializer,
} from "@a2a-js/sdk/server";
import { type OutboundGuard, OutboundRefused } from "../jsonrpc/outbound.js";
import type { TaskService } from "../service/task-service.js";
import { principalOf } from "./user.js";

/** The version a request without `A2A-Version` speaks (the SDK's rule). */
const A2A_LEGACY_VERSION = "0.3";

/**
 * Push notification configs in the store's A2A facet (through `TaskService`), so a config
 * registered before a restart, or on another node, keeps receiving notifications. A config
 * belongs to its task (tree): whoever may access the tree sees its configs. URLs that point at
 * internal addresses are refused; at most `A2A_MAX_PUSH_CONFIGS` configs per task.
 */
export class GuardedPushNotificationStore implements PushNotificationStore {
  constructor(
    private readonly service: TaskService,
    private readonly outbound: OutboundGuard,
  ) {}

  async save(taskId: string, context: ServerCallContext, config: TaskPushNotificationConfig): Promise<void> {
    const problem = await this.outbound.problem(config.url ?? "", "push notification url");
    if (problem) throw new RequestMalformedError(problem);
    // The SDK expects the id assigned in place (it answers with the object it passed).
    if (!config.id) config.id = randomUUID();
    const saved = await this.service.savePushConfig(principalOf(context), taskId, {
      configId: config.id,
      config: TaskPushNotificationConfig.toJSON(config) as JsonValue,
      wireVersion: context.requestedVersion || A2A_LEGACY_VERSION,
    });
    if (!saved) {
      throw new RequestMalformedError(
        `task ${taskId} already has ${A2A_MAX_PUSH_CONFIGS} push notification configs; delete one first`,
      );
    }
  }

  async load(taskId: string, context: ServerCallContext): Promise<TaskPushNotificationConfig[]> {
    return (await this.loadWithMetadata(taskId, context)).map((s) => s.config);
  }

  async loadWithMetadata(taskId: string, context: ServerCallContext): Promise<StoredPushNotificationConfig[]> {
    const stored = await this.service.pushConfigs(principalOf(context), taskId);
    return stored.map((s) => ({ config: TaskPushNotificationConfig.fromJSON(s.config), wireVersion: s.wireVersion }));
  }

  async delete(taskId: string, context: ServerCallContext, configId?: string): Promise<void> {
    await this.service.deletePushConfig(principalOf(context), taskId, configId ?? taskId);
  }
}

const TOKEN_HEADER = "X-A2A-Notification-Token";

/**
 * Sends push notifications like the SDK's default sender (same serializers, auth headers and
 * per-task ordering), but through the outbound guard: the URL is checked again after DNS
 * resolution and the connection goes to the checked address.
 */
export class GuardedPushNotificationSender implements PushNotificationSender {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly serializers = new Map<string, PushNotificationSerializer>([
    ["1.0", new V1PushNotificationSerializer()],
    ["0.3", new V03PushNotificationSerializer()],
  ]);

  constructor(
    private readonly store: PushNotificationStore,
    private readonly outbound: OutboundGuard,
    private readonly log: Logger,
    private readonly timeoutMs = 5000,
  ) {}

  async send(streamResponse: StreamResponse, context: ServerCallContext, task?: A2aTask): Promise<void> {
    const taskId = taskIdOf(streamResponse);
    if (!taskId) return;
    const stored = this.store.loadWithMetadata
      ? await this.store.loadWithMetadata(taskId, context)
      : (await this.store.load(taskId, context)).map((config) => ({
          config,
          wireVersion: context.requestedVersion || "0.3",
        }));
    if (stored.length === 0) return;
    const previous = this.chains.get(taskId) ?? Promise.resolve();
    const next = previous.then(async () => {
      await Promise.all(
        stored.map(async ({ config, wireVersion }) => {
          try {
            await this.dispatch(streamResponse, config, wireVersion, task);
          } catch (err) {
            const refused = err instanceof OutboundRefused;
            this.log.warn(
              { taskId, url: redact(config.url), err: refused ? err.message : String(err) },
              refused ? "push notification refused" : "push notification failed",
            );
          }
        }),
      );
    });
    this.chains.set(taskId, next);
    return next.finally(() => {
      if (this.chains.get(taskId) === next) this.chains.delete(taskId);
    });
  }

  private async dispatch(
    streamResponse: StreamResponse,
    config: TaskPushNotificationConfig,
    wireVersion: string,
    task: A2aTask | undefined,
  ): Promise<void> {
    const serializer = this.serializers.get(wireVersion) ?? (this.serializers.get("1.0") as PushNotificationSerializer);
    const { body, contentType } = serializer.serialize(streamResponse, task);
    const headers: Record<string, string> = { "content-type": contentType };
    if (config.authentication?.scheme && config.authentication.credentials)
      headers.authorization = `${config.authentication.scheme} ${config.authentication.credentials}`;
    else if (config.token) headers[TOKEN_HEADER] = config.token;
    const res = await this.outbound.post(config.url, { headers, body, timeoutMs: this.timeoutMs });
    if (res.status < 200 || res.status >= 300) throw new Error(`HTTP ${res.status}`);
  }
}

function taskIdOf(streamResponse: StreamResponse): string {
  const payload = streamResponse.payload;
  if (!payload) return "";
  return payload.$case === "task" ? payload.value.id : payload.value.taskId;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "invalid-url";
  }
}
