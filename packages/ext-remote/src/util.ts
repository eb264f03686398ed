const REDACTED = "[redacted]";

/** Replace every secret value inside a string. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join(REDACTED);
  return out;
}

/** The first error in a `cause` chain that passes `is`. */
export function findCause<T>(err: unknown, is: (e: unknown) => e is T): T | undefined {
  let current: unknown = err;
  for (let i = 0; i < 8 && current; i++) {
    if (is(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
