import { describe, expect, it } from "vitest";
import { TOKEN_KEY, sessionTokenStore, takeTokenFromHash } from "./token.js";

function memoryStorage() {
  const m = new Map<string, string>();
  return {
    m,
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
}

describe("session token store", () => {
  it("keeps the token in the given storage only, trimmed, and forgets it", () => {
    const storage = memoryStorage();
    const tokens = sessionTokenStore(storage);
    expect(tokens.get()).toBeNull();
    tokens.set("  abc.def  ");
    expect(storage.m.get(TOKEN_KEY)).toBe("abc.def");
    expect(sessionTokenStore(storage).get()).toBe("abc.def");
    tokens.clear();
    expect(tokens.get()).toBeNull();
    expect(() => tokens.set("   ")).toThrow(/empty/);
  });

  it("a storage that throws (blocked) keeps the token in the page", () => {
    const broken = {
      getItem: () => {
        throw new Error("blocked");
      },
      setItem: () => {
        throw new Error("blocked");
      },
      removeItem: () => {
        throw new Error("blocked");
      },
    };
    const tokens = sessionTokenStore(broken);
    tokens.set("t");
    expect(tokens.get()).toBe("t");
    tokens.clear();
    expect(tokens.get()).toBeNull();
  });
});

describe("token in the URL fragment", () => {
  it("is taken out, the rest of the fragment kept", () => {
    expect(takeTokenFromHash("#token=a.b.c")).toEqual({ token: "a.b.c", rest: "" });
    expect(takeTokenFromHash("#x=1&token=t")).toEqual({ token: "t", rest: "#x=1" });
    expect(takeTokenFromHash("#section")).toEqual({ token: null, rest: "#section" });
    expect(takeTokenFromHash("")).toEqual({ token: null, rest: "" });
  });
});
