import { ApflowError, ErrorCode } from "../errors.js";
import type { TaskStore } from "../store/types.js";

/**
 * The scheme a store URL names: `postgres` for `postgres://…`, `mystore` for `mystore://…`,
 * `file` for `file:…` and for a plain path (`./.apflow/apflow.db`, `C:\data\a.db`).
 */
export function storeScheme(url: string): string {
  const raw = url.trim();
  if (/^file:/i.test(raw)) return "file";
  const match = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw);
  return match ? (match[1] as string).toLowerCase() : "file";
}

/** The methods any store has; what a factory returns is checked against them. */
const STORE_METHODS = ["createTasks", "startExecution", "claimReady", "finishTask", "getTask", "getTree", "close"];

export function isTaskStore(value: unknown): value is TaskStore {
  if (!value || typeof value !== "object") return false;
  return STORE_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === "function");
}

export function noStoreForScheme(scheme: string, known: string[]): ApflowError {
  const registered =
    known.length > 0 ? `registered schemes: ${known.map((s) => `${s}:`).join(", ")}` : "none is registered";
  return new ApflowError(
    ErrorCode.InvalidParams,
    `no store opens "${scheme}:" URLs (${registered}); a plugin contributes one with registry.registerStore({ id, schemes: ["${scheme}"], create })`,
    { scheme, schemes: known },
  );
}

export function notAStore(factoryId: string): ApflowError {
  return new ApflowError(
    ErrorCode.Internal,
    `store factory "${factoryId}" returned something that is not a task store (a store has ${STORE_METHODS.join(", ")}, ...)`,
    { factory: factoryId },
  );
}
