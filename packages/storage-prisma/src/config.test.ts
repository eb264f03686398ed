import { resolve } from "node:path";
import { ApflowError } from "@aipartnerupflow/core";
import { describe, expect, it } from "vitest";
import { DEFAULT_SQLITE_PATH, resolveDatabase } from "./config.js";

describe("resolveDatabase", () => {
  it("picks PostgreSQL from postgres:// and postgresql:// URLs", () => {
    expect(resolveDatabase("postgres://u@h/db", {})).toEqual({ provider: "postgres", url: "postgres://u@h/db" });
    expect(resolveDatabase("postgresql://u@h/db", {}).provider).toBe("postgres");
  });

  it("picks SQLite from file: URLs and plain paths, made absolute", () => {
    expect(resolveDatabase("file:./data/x.db", {})).toEqual({
      provider: "sqlite",
      path: resolve("data/x.db"),
      url: `file:${resolve("data/x.db")}`,
    });
    expect(resolveDatabase("file:///tmp/x.db", {})).toMatchObject({ provider: "sqlite", path: "/tmp/x.db" });
    expect(resolveDatabase("/tmp/y.db", {})).toMatchObject({ provider: "sqlite", path: "/tmp/y.db" });
  });

  it("falls back to APFLOW_DATABASE_URL, then DATABASE_URL, then the embedded default", () => {
    expect(
      resolveDatabase(undefined, { APFLOW_DATABASE_URL: "postgres://a/b", DATABASE_URL: "/tmp/z.db" }).provider,
    ).toBe("postgres");
    expect(resolveDatabase(undefined, { DATABASE_URL: "/tmp/z.db" })).toMatchObject({ path: "/tmp/z.db" });
    expect(resolveDatabase(undefined, {})).toMatchObject({ provider: "sqlite", path: resolve(DEFAULT_SQLITE_PATH) });
  });

  it("refuses other schemes and in-memory SQLite with a typed error", () => {
    expect(() => resolveDatabase("mysql://h/db", {})).toThrow(ApflowError);
    expect(() => resolveDatabase(":memory:", {})).toThrow(/in-memory/);
  });
});
