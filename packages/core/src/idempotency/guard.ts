import { setTimeout as sleep } from "node:timers/promises";
import { ApflowError, ErrorCode, ValidationError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { JsonValue } from "../types.js";
import { newId } from "../util/ids.js";
import { fingerprintOf } from "./fingerprint.js";
import type { IdempotencyStore } from "./types.js";

export interface IdempotencyOptions {
  /** How long a key is remembered (default 24 h). */
  retentionMs?: number;
  /**
   * How long the first request may hold its key without recording a response before a repeat
   * takes the work over (its process is taken for dead; default 60 s).
   */
  leaseMs?: number;
  /** How long a repeat waits for the first request's response before it is refused (default 30 s). */
  waitMs?: number;
  /** How often a waiting repeat re-reads the key (default 50 ms). */
  pollMs?: number;
  /** How often expired keys are removed, at most (default 60 s; on the next request after it). */
  purgeEveryMs?: number;
}

export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;
export const DEFAULT_IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** The outcome of a guarded call: the value, and whether it is the first request's (a repeat). */
export interface Guarded<T> {
  value: T;
  replayed: boolean;
}

/** Check an idempotency key: 1..200 characters, no control characters. */
export function checkIdempotencyKey(key: unknown, path = "idempotencyKey"): string {
  const problem =
    typeof key !== "string"
      ? "idempotencyKey must be a string"
      : key.length < 1 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH
        ? `idempotencyKey must be 1..${MAX_IDEMPOTENCY_KEY_LENGTH} characters, got ${key.length}`
        : // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
          /[\u0000-\u001f\u007f]/.test(key)
          ? "idempotencyKey must not contain control characters"
          : null;
  if (problem) throw new ValidationError([{ path, code: "invalid_idempotency_key", message: problem }]);
  return key as string;
}

export function idempotencyKeyReused(path = "idempotencyKey"): ValidationError {
  const message = "idempotencyKey was already used with different parameters: use a new key for a new request";
  return new ValidationError([{ path, code: "idempotency_key_reused", message }], message);
}

/**
 * Runs work once per idempotency key (per user): the first request does it and records its
 * response; a repeat with the same parameters gets the recorded response back (waiting, bounded,
 * while the first is still at work, also in another process); a repeat with other parameters is
 * refused with -32602 naming `idempotencyKey`.
 */
export class IdempotencyGuard {
  readonly retentionMs: number;
  readonly leaseMs: number;
  readonly waitMs: number;
  readonly pollMs: number;
  readonly purgeEveryMs: number;
  private lastPurge = Number.NEGATIVE_INFINITY;

  constructor(
    readonly store: IdempotencyStore,
    private readonly clock: () => Date,
    private readonly logger: Logger,
    options: IdempotencyOptions = {},
  ) {
    this.retentionMs = positive(options.retentionMs ?? DEFAULT_IDEMPOTENCY_RETENTION_MS, "retentionMs");
    this.leaseMs = positive(options.leaseMs ?? 60_000, "leaseMs");
    this.waitMs = positive(options.waitMs ?? 30_000, "waitMs");
    this.pollMs = positive(options.pollMs ?? 50, "pollMs");
    this.purgeEveryMs = positive(options.purgeEveryMs ?? 60_000, "purgeEveryMs");
  }

  /**
   * Do `work` once for `key`: `work` returns the value and the response to record (JSON: ids, not
   * objects); `replay` turns a recorded response back into a value.
   */
  async once<T>(
    userId: string | null,
    key: string,
    operation: string,
    params: unknown,
    work: () => Promise<{ value: T; response: JsonValue }>,
    replay: (response: JsonValue) => Promise<T>,
  ): Promise<Guarded<T>> {
    checkIdempotencyKey(key);
    const fingerprint = fingerprintOf(operation, params);
    this.purgeMaybe();
    const deadline = Date.now() + this.waitMs;
    for (;;) {
      const token = newId();
      const reservation = await this.store.reserveKey({
        userId,
        key,
        fingerprint,
        token,
        now: this.clock(),
        leaseMs: this.leaseMs,
        retentionMs: this.retentionMs,
      });
      if (reservation.outcome === "reserved") {
        let done: { value: T; response: JsonValue };
        try {
          done = await work();
        } catch (err) {
          await this.store.releaseKey(userId, key, token).catch((e: unknown) => {
            this.logger.warn({ err: e, key }, "cannot release an idempotency key");
          });
          throw err;
        }
        const recorded = await this.store.completeKey(userId, key, token, done.response, this.clock());
        if (!recorded) this.logger.warn({ key }, "idempotency key taken over before its response was recorded");
        return { value: done.value, replayed: false };
      }
      if (reservation.fingerprint !== fingerprint) throw idempotencyKeyReused();
      if (reservation.outcome === "completed") return { value: await replay(reservation.response), replayed: true };
      if (Date.now() >= deadline) {
        throw new ApflowError(
          ErrorCode.Unavailable,
          "a request with this idempotencyKey is still in progress: retry it later",
          { errors: [{ path: "idempotencyKey", code: "idempotency_key_in_progress", message: "still in progress" }] },
        );
      }
      await sleep(this.pollMs);
    }
  }

  /** Remove expired keys now. */
  async purge(): Promise<number> {
    this.lastPurge = Date.now();
    return this.store.expire(this.clock());
  }

  private purgeMaybe(): void {
    if (Date.now() - this.lastPurge < this.purgeEveryMs) return;
    this.purge().catch((err: unknown) => this.logger.warn({ err }, "cannot remove expired idempotency keys"));
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ApflowError(ErrorCode.InvalidParams, `idempotency ${name} must be a positive number, got ${value}`);
  }
  return value;
}
