/** Where the bearer token lives: the browser's session storage only (gone with the tab). */
export interface TokenStore {
  get(): string | null;
  set(token: string): void;
  clear(): void;
}

export const TOKEN_KEY = "apflow.dashboard.token";

/** A token store over a `Storage` (window.sessionStorage); a storage that throws acts as empty. */
export function sessionTokenStore(
  storage: Pick<Storage, "getItem" | "setItem" | "removeItem"> | undefined,
): TokenStore {
  let memory: string | null = null;
  return {
    get() {
      try {
        return storage ? storage.getItem(TOKEN_KEY) : memory;
      } catch {
        return memory;
      }
    },
    set(token: string) {
      const t = token.trim();
      if (!t) throw new Error("the token is empty");
      memory = t;
      try {
        storage?.setItem(TOKEN_KEY, t);
      } catch {
        // Storage refused (private mode quota): the token lives only in this page.
      }
    },
    clear() {
      memory = null;
      try {
        storage?.removeItem(TOKEN_KEY);
      } catch {
        // nothing stored
      }
    },
  };
}

/**
 * A token handed over in the URL fragment (`#token=…`, as `apflow ui --token` opens the page):
 * returns it and the URL without it, so it is moved into session storage and off the address bar.
 */
export function takeTokenFromHash(hash: string): { token: string | null; rest: string } {
  const raw = hash.startsWith("#") ? hash.slice(1) : hash;
  const params = new URLSearchParams(raw);
  const token = params.get("token");
  if (!token) return { token: null, rest: hash };
  params.delete("token");
  const rest = params.toString();
  return { token, rest: rest ? `#${rest}` : "" };
}
