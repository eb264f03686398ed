import { ApflowError, type Logger } from "@aipartnerupflow/core";
import { RequestMalformedError, TaskNotFoundError } from "@a2a-js/sdk/errors";
import { toA2aCode, toRpcError } from "../errors.js";

/** JSON-RPC's internal error code; its message never leaves the server. */
const INTERNAL = -32603;

type Envelope = { error?: unknown };

/**
 * An A2A JSON-RPC response as it may leave the server: the SDK answers any error that is not one
 * of its A2A errors (a store failure, a bug) with -32603 and the error's own message, which can
 * hold internals (paths, SQL, hosts). That message is logged and replaced by "internal error".
 */
export function redactInternal<T>(envelope: T, log: Logger): T {
  const error = (envelope as Envelope | null)?.error as { code?: unknown; message?: unknown } | undefined;
  if (!error || typeof error !== "object" || (error.code !== INTERNAL && typeof error.code === "number"))
    return envelope;
  log.error({ err: typeof error.message === "string" ? error.message : String(error.message) }, "A2A internal error");
  return { ...(envelope as object), error: { code: INTERNAL, message: "internal error" } } as T;
}

/**
 * Our errors as the SDK's A2A errors (A2A has its own code table): not found → TaskNotFound
 * (-32001), every other client mistake → RequestMalformed (-32602). Our code and the structured
 * problems travel in the ErrorInfo metadata (`apflowCode`, `errors` as JSON).
 */
export function toA2aError(err: unknown): unknown {
  if (!(err instanceof ApflowError)) return err;
  const rpc = toRpcError(err);
  const metadata: Record<string, string> = { apflowCode: String(rpc.code) };
  const errors = (rpc.data as { errors?: unknown } | undefined)?.errors;
  if (errors !== undefined) metadata.errors = JSON.stringify(errors);
  const code = toA2aCode(rpc.code);
  if (code === -32001) return new TaskNotFoundError({ message: rpc.message, metadata });
  if (code === -32602) return new RequestMalformedError({ message: rpc.message, metadata });
  return err;
}
