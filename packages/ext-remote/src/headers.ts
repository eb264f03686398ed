import { RemoteErrorCode, refuse } from "./errors.js";

/** Request headers a task may not set: hop-by-hop and framing headers, which the client owns. */
const FORBIDDEN = new Set([
  "host",
  "connection",
  "keep-alive",
  "content-length",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "expect",
  "proxy-connection",
]);

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** Refuse (final, `HEADER_NOT_ALLOWED`) a header name a task may not set or that is not a valid token. */
export function checkHeaderNames(headers: Record<string, unknown> | undefined, field: string): void {
  for (const name of Object.keys(headers ?? {})) {
    const n = name.toLowerCase();
    if (FORBIDDEN.has(n) || !TOKEN.test(n)) {
      throw refuse(RemoteErrorCode.HeaderNotAllowed, `${field}: the header "${name}" may not be set by a task`, {
        field,
        header: name,
      });
    }
  }
}
