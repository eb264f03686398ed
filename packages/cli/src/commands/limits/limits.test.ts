import type { LimitRule } from "@aipartnerupflow/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseJson, runCli, tempDir } from "../../test-util/cli.js";
import { parseRate } from "./index.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const cli = (...args: string[]) => runCli(args, { cwd: dir });

describe("apflow limits on the local store", () => {
  it("set, list (table and JSON) and delete", { timeout: 60_000 }, async () => {
    expect((await cli("limits", "list")).stdout).toContain("no limits");
    const set = await cli("limits", "set", "user", "--max-running", "2", "--json");
    expect(set.code).toBe(0);
    expect(parseJson<LimitRule>(set)).toEqual({ scope: "user", maxRunning: 2 });
    expect((await cli("limits", "set", "executor", "llm", "--max-running", "3", "--rate", "60/1m")).code).toBe(0);
    const list = await cli("limits", "list");
    expect(list.stdout).toMatch(/^SCOPE\s+KEY\s+MAX RUNNING\s+MAX TREES\s+RATE$/m);
    expect(list.stdout).toMatch(/^user\s+\(default\)\s+2\s+-\s+-$/m);
    expect(list.stdout).toMatch(/^executor\s+llm\s+3\s+-\s+60\/1m$/m);
    expect(
      parseJson<{ rules: LimitRule[] }>(await cli("limits", "list", "--scope", "executor", "--json")).rules,
    ).toEqual([{ scope: "executor", key: "llm", maxRunning: 3, rate: { starts: 60, perMs: 60_000 } }]);
    expect((await cli("limits", "delete", "executor", "llm")).stdout).toContain("deleted the executor limit for llm");
    expect((await cli("limits", "delete", "executor", "llm")).stdout).toContain("no executor limit for llm");
  });

  it("a bad rule is refused naming the field", { timeout: 60_000 }, async () => {
    const bad = await cli("limits", "set", "root", "--max-running-roots", "1");
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("maxRunningRoots");
  });
});

describe("parseRate", () => {
  it("reads starts/interval", () => {
    expect(parseRate("10/1m")).toEqual({ starts: 10, perMs: 60_000 });
    expect(parseRate("1/500ms")).toEqual({ starts: 1, perMs: 500 });
    expect(() => parseRate("fast")).toThrow(/starts\/interval/);
  });
});
