import { ApflowError } from "@aipartnerupflow/core";
import { RequestMalformedError, TaskNotFoundError } from "@a2a-js/sdk/errors";
import { toA2aCode, toRpcError } from "../errors.js";

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
