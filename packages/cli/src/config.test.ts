import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApflowError, ErrorCode, ValidationError } from "@aipartnerupflow/core";
import { describe, expect, it } from "vitest";
import { loadConfig, pluginSpecs, resolveSettings } from "./config.js";
import { CliError, ExitCode, exitCodeFor } from "./errors.js";
import { parseTasksJson } from "./input.js";

describe("settings precedence: flags > environment > config file > defaults", () => {
  const dir = mkdtempSync(join(tmpdir(), "apflow-config-"));
  writeFileSync(
    join(dir, "apflow.config.json"),
    JSON.stringify({ database: "data/x.db", concurrency: 4, server: "http://cfg:1", plugins: ["./p.mjs", "pkg"] }),
  );
  const config = loadConfig(dir, {});

  it("the config file fills what nothing else sets; its relative database path is relative to the file", () => {
    const s = resolveSettings(config, {});
    expect(s).toMatchObject({
      database: join(dir, "data/x.db"),
      databaseSource: "config",
      concurrency: 4,
      server: "http://cfg:1",
    });
  });

  it("APFLOW_DATABASE_URL beats DATABASE_URL beats the config; a flag beats all", () => {
    expect(resolveSettings(config, { DATABASE_URL: "postgres://d/b" }).database).toBe("postgres://d/b");
    expect(resolveSettings(config, { DATABASE_URL: "postgres://d/b", APFLOW_DATABASE_URL: "a.db" })).toMatchObject({
      database: "a.db",
      databaseSource: "APFLOW_DATABASE_URL",
    });
    expect(resolveSettings(config, { APFLOW_DATABASE_URL: "a.db" }, { db: "b.db", concurrency: 2 })).toMatchObject({
      database: "b.db",
      concurrency: 2,
    });
  });

  it("plugins: APFLOW_PLUGINS first, then the config file's, paths made absolute, each once", () => {
    const specs = pluginSpecs(config, "/elsewhere", { APFLOW_PLUGINS: "pkg, ./local.mjs" });
    expect(specs.map((s) => [s.specifier, s.source])).toEqual([
      ["pkg", "env"],
      ["/elsewhere/local.mjs", "env"],
      [join(dir, "p.mjs"), "config"],
    ]);
  });

  it("a bad concurrency is a usage error", () => {
    expect(() => resolveSettings(config, { APFLOW_CONCURRENCY: "zero" })).toThrow(CliError);
  });
});

describe("exit codes", () => {
  it("map errors in one place", () => {
    expect(exitCodeFor(new ValidationError([{ path: "tasks", code: "empty", message: "empty" }]))).toBe(ExitCode.Usage);
    expect(exitCodeFor(new ApflowError(ErrorCode.TaskNotFound, "task not found: x"))).toBe(ExitCode.Usage);
    expect(exitCodeFor(new ApflowError(ErrorCode.AlreadyExecuting, "busy"))).toBe(ExitCode.Failed);
    expect(exitCodeFor(new ApflowError(ErrorCode.Unauthorized, "no"))).toBe(ExitCode.Unreachable);
    expect(exitCodeFor(new ApflowError(ErrorCode.Unavailable, "shutting down"))).toBe(ExitCode.Unreachable);
    expect(exitCodeFor(Object.assign(new Error("connect"), { code: "ECONNREFUSED" }))).toBe(ExitCode.Unreachable);
    expect(
      exitCodeFor(new TypeError("fetch failed", { cause: Object.assign(new Error("x"), { code: "ECONNREFUSED" }) })),
    ).toBe(ExitCode.Unreachable);
    expect(exitCodeFor(new Error("anything else"))).toBe(ExitCode.Failed);
  });
});

describe("task files", () => {
  it("accept a bare array or {tasks}, and refuse anything else", () => {
    expect(parseTasksJson('[{"name":"a"}]', "f")).toEqual([{ name: "a" }]);
    expect(parseTasksJson('{"tasks":[{"name":"a"}]}', "f")).toEqual([{ name: "a" }]);
    expect(() => parseTasksJson('{"task":[]}', "f")).toThrow(/array of tasks/);
    expect(() => parseTasksJson("  ", "f")).toThrow(/is empty/);
  });
});
