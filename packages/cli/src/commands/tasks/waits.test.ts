import { spawn, spawnSync } from "node:child_process";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { Task, TaskPage } from "@aipartnerupflow/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseAnswerLine, promptForAnswer } from "../../prompt/wait-prompt.js";
import { createPalette } from "../../render/colors.js";
import { BIN, EXAMPLES, eventually, parseJson, runCli, spawnCli, tempDir } from "../../test-util/cli.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const plain = createPalette(false);
const approvalWait = {
  prompt: "ship it?",
  since: "2030-01-01T00:00:00.000Z",
  answers: [],
  schema: {
    type: "object",
    properties: { approved: { type: "boolean" }, comment: { type: "string" }, ticket: { type: "string" } },
    required: ["approved", "ticket"],
  },
};

describe("the wait prompt (injected streams)", () => {
  it("re-asks until the answer matches the schema, naming the field", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = "";
    // One line per question, typed when the prompt shows (as a person would).
    const lines = ["maybe", "y", '{"approved": true, "ticket": "T-9"}'];
    output.on("data", (d: Buffer) => {
      shown += d.toString();
      if (d.toString().includes("> ")) setImmediate(() => input.write(`${lines.shift()}\n`));
    });
    const answer = promptForAnswer(
      { id: "t", name: "gate", wait: approvalWait },
      { input, output, terminal: false },
      plain,
    );
    expect(await answer).toEqual({ approved: true, ticket: "T-9" });
    expect(shown).toContain("gate waits for an answer: ship it?");
    expect(shown).toContain("not JSON");
    expect(shown).toContain("input.ticket");
  });

  it("gives up (null) at the end of input; the task stays waiting", async () => {
    const input = new PassThrough();
    const answer = promptForAnswer(
      { id: "t", name: "gate", wait: approvalWait },
      { input, output: new PassThrough(), terminal: false },
      plain,
    );
    input.end();
    expect(await answer).toBeNull();
  });

  it("reads y/n for approvals, JSON otherwise, text without a schema", () => {
    expect(parseAnswerLine(" YES ", approvalWait.schema)).toEqual({ value: { approved: true } });
    expect(parseAnswerLine("n", approvalWait.schema)).toEqual({ value: { approved: false } });
    expect(parseAnswerLine('"draft 2"', undefined)).toEqual({ value: "draft 2" });
    expect(parseAnswerLine("draft 2", undefined)).toEqual({ value: "draft 2" });
    expect(parseAnswerLine("draft 2", { type: "string" })).toEqual({ error: "not JSON" });
  });
});

const hasScript = spawnSync("script", ["--version"]).status === 0;

/** `apflow run` inside a pseudo-terminal (util-linux `script`), typing into it. */
function runInTerminal(args: string[]) {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, NO_COLOR: "1", TERM: "xterm" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    out += d;
  });
  const done = new Promise<number | null>((resolve) => child.on("close", resolve));
  return { out: () => out, type: (text: string) => child.stdin.write(text), done, kill: () => child.kill("SIGKILL") };
}

describe.skipIf(!hasScript)("apflow run on a terminal with a task that waits (pseudo-terminal)", () => {
  it("prompts, re-asks on a bad answer, and the tree completes once approved", { timeout: 60_000 }, async () => {
    copyFileSync(join(EXAMPLES, "approval.json"), join(dir, "approval.json"));
    const run = runInTerminal(["run", "approval.json"]);
    try {
      await eventually(async () => (run.out().includes("waits for an answer") ? true : undefined));
      run.type("perhaps\r");
      await eventually(async () => (run.out().includes("not JSON") ? true : undefined));
      run.type("y\r");
      expect(await run.done).toBe(0);
      expect(run.out()).toContain("1 tree: 1 completed");
    } finally {
      run.kill();
    }
  });

  it("Ctrl-C at the prompt leaves the task waiting; tasks list --status waiting and tasks resume finish it", {
    timeout: 60_000,
  }, async () => {
    copyFileSync(join(EXAMPLES, "approval.json"), join(dir, "approval.json"));
    const run = runInTerminal(["run", "approval.json"]);
    try {
      await eventually(async () => (run.out().includes("waits for an answer") ? true : undefined));
      run.type("\x03");
      expect(await run.done).toBe(1);
      expect(run.out()).toContain("left sign-off waiting");
    } finally {
      run.kill();
    }
    const listed = parseJson<TaskPage>(await runCli(["tasks", "list", "--status", "waiting", "--json"], { cwd: dir }));
    expect(listed.tasks.map((t) => [t.name, t.status])).toEqual([["sign-off", "waiting"]]);
    const id = (listed.tasks[0] as Task).id;
    const bad = await runCli(["tasks", "resume", id, "--input", '{"approved": "yes"}'], { cwd: dir });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("input.approved");
    const resumed = await runCli(["tasks", "resume", id, "--approve", "--comment", "ok", "--no-live"], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain("sign-off resumed");
    const again = await runCli(["tasks", "resume", id, "--approve"], { cwd: dir });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/not waiting/);
    const tree = parseJson<Task[]>(await runCli(["tasks", "tree", id, "--json"], { cwd: dir }));
    expect(JSON.stringify(tree)).toContain('"comment":"ok"');
  });
});

describe("apflow run off a terminal with a task that waits", () => {
  it("says how to answer, waits, and exits 0 once another process answers", { timeout: 60_000 }, async () => {
    copyFileSync(join(EXAMPLES, "approval.json"), join(dir, "approval.json"));
    const run = spawnCli(["run", "approval.json"], { cwd: dir });
    try {
      const id = await eventually(async () => /apflow tasks resume ([0-9a-f-]{36}) --input/.exec(run.stderr())?.[1]);
      expect(run.stderr()).toContain("sign-off waits for an answer; this run goes on once it has one");
      const resumed = await runCli(["tasks", "resume", id, "--approve", "--no-live"], { cwd: dir });
      expect(resumed.code, resumed.stderr).toBe(0);
      const done = await run.done;
      expect(done.code, done.stderr).toBe(0);
      expect(done.stdout).toContain("1 tree: 1 completed");
    } finally {
      run.kill("SIGKILL");
    }
  });
});
