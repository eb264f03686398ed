import { afterEach, describe, expect, it, vi } from "vitest";
import { keepStdoutForJson, stderrLogger } from "./log.js";

function sink() {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => lines.push(s) > 0 } };
}

afterEach(() => vi.restoreAllMocks());

describe("stdout reserved for JSON", () => {
  it("console.log/info/debug go to stderr until restored; console.error is untouched", () => {
    const err = sink();
    const out = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const restore = keepStdoutForJson(err.stream);
    console.log("a %d", 1);
    console.info("b");
    console.debug({ c: 1 });
    restore();
    expect(out).not.toHaveBeenCalled();
    expect(err.lines).toEqual(["a 1\n", "b\n", "{ c: 1 }\n"]);
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    console.log("back");
    expect(log).toHaveBeenCalledWith("back");
  });

  it("the local engine's logger writes warnings and errors as plain stderr lines, debug only when asked", () => {
    const err = sink();
    const log = stderrLogger(err.stream).child({ taskId: "t1" });
    log.info("quiet");
    log.debug("quiet");
    log.warn({ provider: "p" }, "careful");
    log.error({ err: new Error("boom") }, "hook failed");
    expect(err.lines).toEqual(["warning: careful (task t1)\n", "error: hook failed: boom (task t1)\n"]);
    const verbose = sink();
    stderrLogger(verbose.stream, { debug: true }).debug("details");
    expect(verbose.lines).toEqual(["debug: details\n"]);
  });
});
