import type { JsonValue } from "../types.js";

/** At most this many messages of a task's history are kept (the latest ones). */
export const A2A_MAX_HISTORY = 50;
/** At most this many push notification configs per task. */
export const A2A_MAX_PUSH_CONFIGS = 10;

/**
 * The A2A facet of a store (`store.a2a`): what the A2A protocol keeps about a tree beyond our task
 * model — the client's contextId, the message history, the last status message — and the push
 * notification configs registered for it. Keyed by root id (ids are unique across users); every
 * record names its owner (the root's `userId`) so listings can be limited to one user. Separate
 * from `TaskStore` so that it can evolve on its own; every implementation must pass the facet
 * contract (`describeA2aStateContract` in `@aipartnerupflow/core/testing`). Messages and configs
 * are opaque JSON here (the A2A surface's wire form). It never reads the clock: writes take `now`.
 */
export interface A2aStateStore {
  /** The conversation state of a root, or null when none was written. */
  getConversation(rootId: string): Promise<A2aConversation | null>;

  /**
   * Write the conversation state of a root (replacing what was there; the first write's
   * `createdAt` stays). History beyond `A2A_MAX_HISTORY` keeps only the latest messages.
   */
  putConversation(conversation: A2aConversationInput, now: Date): Promise<void>;

  /**
   * Roots with conversation state in `contextId`, newest first (by `createdAt`, then root id),
   * limited to `owner` when it is given (`undefined`: every owner).
   */
  listConversations(query: A2aConversationQuery): Promise<{ rootIds: string[]; total: number }>;

  /**
   * Save a push notification config of a root (the same `configId` is replaced). False, and
   * nothing written, when the root already has `A2A_MAX_PUSH_CONFIGS` other configs.
   */
  putPushConfig(config: A2aPushConfigInput, now: Date): Promise<boolean>;

  /** The push notification configs of a root, oldest first. */
  listPushConfigs(rootId: string): Promise<A2aPushConfig[]>;

  /** Remove one config; false when there was none with that id. */
  deletePushConfig(rootId: string, configId: string): Promise<boolean>;

  /** Forget everything about these roots (their trees were deleted). */
  forget(rootIds: readonly string[]): Promise<void>;
}

export interface A2aConversationInput {
  rootId: string;
  /** The root's owner (`userId`), null without one. */
  owner: string | null;
  contextId: string | null;
  /** A2A messages (wire JSON), oldest first. */
  history: JsonValue[];
  /** The last status message (wire JSON), null when none. */
  statusMessage: JsonValue | null;
  /** The A2A task state that status message belongs to (null when none). */
  state: number | null;
}

export interface A2aConversation extends A2aConversationInput {
  createdAt: Date;
  updatedAt: Date;
}

export interface A2aConversationQuery {
  contextId: string;
  /** Only this owner's roots; `undefined` for every owner (administrators). */
  owner?: string | null;
  limit: number;
  offset: number;
}

export interface A2aPushConfigInput {
  rootId: string;
  owner: string | null;
  configId: string;
  /** The config as registered (wire JSON). */
  config: JsonValue;
  /** The A2A protocol version it was registered over ("1.0", "0.3"): its notifications use it. */
  wireVersion: string;
}

export interface A2aPushConfig extends A2aPushConfigInput {
  createdAt: Date;
}
