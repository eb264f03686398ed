import { ApflowError, ErrorCode, type JsonValue, ValidationError } from "@aipartnerupflow/core";

export type RpcId = string | number | null;

export interface RpcRequest {
  id: RpcId;
  method: string;
  params: unknown;
  /** No `id` member: a notification, which gets no response (JSON-RPC 2.0 §4.1). */
  notification: boolean;
}

/** Parse the raw body; a syntax error is -32700. */
export function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApflowError(ErrorCode.ParseError, "parse error: the body is not valid JSON");
  }
}

/** Check one JSON-RPC 2.0 envelope; anything malformed is -32600 with what is wrong. */
export function readEnvelope(value: unknown): RpcRequest {
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new ApflowError(ErrorCode.InvalidRequest, "invalid request: expected a JSON-RPC 2.0 object");
  }
  const v = value as Record<string, unknown>;
  const problems: Array<{ path: string; code: string; message: string }> = [];
  if (v.jsonrpc !== "2.0") problems.push({ path: "jsonrpc", code: "invalid_value", message: 'jsonrpc must be "2.0"' });
  if (typeof v.method !== "string" || v.method.length === 0) {
    problems.push({ path: "method", code: "invalid_type", message: "method must be a non-empty string" });
  }
  const id = v.id;
  if (id !== undefined && id !== null && typeof id !== "string" && typeof id !== "number") {
    problems.push({ path: "id", code: "invalid_type", message: "id must be a string, a number or null" });
  }
  if (problems.length > 0) {
    throw new ValidationError(
      problems,
      `invalid request: ${problems.map((p) => p.message).join("; ")}`,
      ErrorCode.InvalidRequest,
    );
  }
  return { id: (id ?? null) as RpcId, method: v.method as string, params: v.params, notification: !("id" in v) };
}

/** The id of a body that could not be read as an envelope, when it has a usable one. */
export function idOf(value: unknown): RpcId {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const id = (value as Record<string, unknown>).id;
    if (typeof id === "string" || typeof id === "number") return id;
  }
  return null;
}

export function rpcResult(id: RpcId, result: unknown): { jsonrpc: "2.0"; id: RpcId; result: unknown } {
  return { jsonrpc: "2.0", id, result: result === undefined ? null : result };
}

export function rpcError(
  id: RpcId,
  error: { code: number; message: string; data?: JsonValue },
): { jsonrpc: "2.0"; id: RpcId; error: { code: number; message: string; data?: JsonValue } } {
  return { jsonrpc: "2.0", id, error };
}
