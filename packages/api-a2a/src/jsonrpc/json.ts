/**
 * JSON text of any depth. `JSON.stringify` recurses on the call stack and throws a RangeError for
 * values nested a few thousand levels deep (a nested view of a long parent chain); this falls back
 * to a serialiser with an explicit stack that gives the same text (same `toJSON`, `undefined`,
 * non-finite number and key order rules).
 */
export function stringifyJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "null";
  } catch (err) {
    if (!(err instanceof RangeError) || !/call stack/i.test(err.message)) throw err;
    return stringifyDeep(value);
  }
}

type Frame =
  | { kind: "array"; items: unknown[]; index: number }
  | { kind: "object"; source: Record<string, unknown>; keys: string[]; index: number; wrote: boolean };

function prepare(key: string, value: unknown): unknown {
  if (value !== null && typeof value === "object" && typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return (value as { toJSON(k: string): unknown }).toJSON(key);
  }
  if (typeof value === "bigint") throw new TypeError("Do not know how to serialize a BigInt");
  return value;
}

/** Whether a prepared value is left out of an object (and is `null` in an array). */
function omitted(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}

function primitive(value: unknown): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    default:
      return "null";
  }
}

function stringifyDeep(root: unknown): string {
  const out: string[] = [];
  const stack: Frame[] = [];
  const seen = new Set<object>();

  /** Write one prepared value: a primitive at once, a container by pushing a frame. */
  const open = (value: unknown): void => {
    if (value === null || typeof value !== "object") {
      out.push(primitive(value));
      return;
    }
    if (seen.has(value)) throw new TypeError("Converting circular structure to JSON");
    seen.add(value);
    if (Array.isArray(value)) {
      out.push("[");
      stack.push({ kind: "array", items: value, index: 0 });
    } else {
      out.push("{");
      const source = value as Record<string, unknown>;
      stack.push({ kind: "object", source, keys: Object.keys(source), index: 0, wrote: false });
    }
  };

  const first = prepare("", root);
  if (omitted(first)) return "null";
  open(first);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    if (frame.kind === "array") {
      if (frame.index >= frame.items.length) {
        out.push("]");
        seen.delete(frame.items);
        stack.pop();
        continue;
      }
      const i = frame.index++;
      if (i > 0) out.push(",");
      const item = prepare(String(i), frame.items[i]);
      if (omitted(item)) out.push("null");
      else open(item);
    } else {
      if (frame.index >= frame.keys.length) {
        out.push("}");
        seen.delete(frame.source);
        stack.pop();
        continue;
      }
      const key = frame.keys[frame.index++] as string;
      const value = prepare(key, frame.source[key]);
      if (omitted(value)) continue;
      if (frame.wrote) out.push(",");
      frame.wrote = true;
      out.push(JSON.stringify(key), ":");
      open(value);
    }
  }
  return out.join("");
}

/** Whether a value nests containers deeper than `max` levels (checked without recursion). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop() as { value: unknown; depth: number };
    if (v === null || typeof v !== "object") continue;
    if (depth + 1 > max) return true;
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const child of children)
      if (child !== null && typeof child === "object") stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}
