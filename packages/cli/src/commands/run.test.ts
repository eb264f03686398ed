import { writeFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Task } from "@aipartnerupflow/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunReport } from "../execution.js";
import { EXAMPLES, STACK_LINE, parseJson, runCli, tempDir } from "../test-util/cli.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

describe("apflow run", () => {
  it("runs hello-world to a finished tree and exits 0", async () => {
    const r = await runCli(["run", join(EXAMPLES, "hello-world.json")], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // The final tree: root first, then its children drawn with branches.
    expect(r.stdout).toMatch(/^✔ system-report {2}completed {2}\[aggregate_results\]/m);
    for (const name of ["cpu", "memory", "disk", "os"])
      expect(r.stdout).toMatch(new RegExp(`^[├└]─ ✔ ${name} {2}completed {2}\\[system_info\\]`, "m"));
    expect(r.stdout).toContain("1 tree: 1 completed");
    // Not a terminal: plain event lines, no escape codes.
    expect(r.stdout).toMatch(/tree finished +system-report completed/);
    expect(r.stdout).not.toContain("\x1b[");
  });

  it("runs the LLM crew example in demo mode with no provider configured (README)", async () => {
    const r = await runCli(["run", "--demo", "--json", join(EXAMPLES, "llm-crew.json")], {
      cwd: dir,
      env: { OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "", APFLOW_LLM_BASE_URL: "" },
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"crew"');
    expect(r.stdout).toContain('"completed"');
  });

  it("exits 1 on a failing tree and shows the failing task, its error and the cascade", async () => {
    const r = await runCli(["run", join(EXAMPLES, "failing.json")], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/✖ data-disk {2}failed/);
    expect(r.stdout).toContain("SYSTEM_INFO_DISK_UNAVAILABLE");
    expect(r.stdout).toMatch(/✖ data-volume {2}failed/);
    expect(r.stdout).toMatch(/DEPENDENCY_FAILED: dependency data-disk/);
    expect(r.stdout).toMatch(/✔ host-facts {2}completed/);
    expect(r.stdout).toContain("2 dependent tasks failed because of it");
    expect(r.stdout).toMatch(/apflow tasks copy [0-9a-f-]{36} --run/);
  });

  it("--json keeps stdout pure JSON while an LLM provider's warning goes to stderr", async () => {
    // A fake OpenAI-compatible provider on loopback. A schema without structured outputs makes the
    // AI SDK warn ("responseFormat" is not supported), which it prints on the console by default.
    const chunk = (delta: object, finish: string | null = null, usage?: object) =>
      `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 0, model: "fake", choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) })}\n\n`;
    const provider: Server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write(chunk({ role: "assistant", content: '{"ok":true}' }));
        res.write(chunk({}, "stop", { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }));
        res.end("data: [DONE]\n\n");
      });
    });
    await new Promise<void>((resolve) => provider.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = provider.address() as AddressInfo;
      const tree = [
        {
          name: "ask",
          params: { executorId: "llm" },
          inputs: { prompt: "hi", schema: { type: "object", properties: { ok: { type: "boolean" } } } },
        },
      ];
      writeFileSync(join(dir, "llm.json"), JSON.stringify(tree));
      const r = await runCli(["run", "llm.json", "--json"], {
        cwd: dir,
        env: {
          APFLOW_LLM_MODEL: "compatible:fake",
          APFLOW_LLM_BASE_URL: `http://127.0.0.1:${port}/v1`,
          APFLOW_LLM_API_KEY: "k",
        },
      });
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as RunReport;
      expect(report.status).toBe("completed");
      expect(report.trees[0]?.tasks[0]?.result).toMatchObject({ object: { ok: true } });
      expect(r.stdout).not.toContain("AI SDK");
      expect(r.stderr).toMatch(
        /^warning: AI SDK warning \(compatible\.chat \/ fake\): "responseFormat" is not supported/m,
      );
    } finally {
      await new Promise((resolve) => provider.close(resolve));
    }
  });

  it("warns about an unknown APFLOW_* setting, naming the one it most likely meant", async () => {
    const r = await runCli(["run", join(EXAMPLES, "hello-world.json"), "--json"], {
      cwd: dir,
      env: { APFLOW_DB: join(dir, "meant.db") },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("warning: unknown setting APFLOW_DB (ignored); did you mean APFLOW_DATABASE_URL?\n");
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "completed" });
  });

  it("--json prints the final trees and exit status", async () => {
    const r = await runCli(["run", join(EXAMPLES, "failing.json"), "--json"], { cwd: dir });
    expect(r.code).toBe(1);
    const report = parseJson<RunReport>(r);
    expect(report.status).toBe("failed");
    expect(report.trees).toHaveLength(1);
    const byName = new Map(report.trees[0]?.tasks.map((t) => [t.name, t]));
    expect(byName.get("data-disk")?.error?.code).toBe("SYSTEM_INFO_DISK_UNAVAILABLE");
    expect(byName.get("cpu")?.status).toBe("completed");
  });

  it("reads {tasks} or a bare array from stdin and runs one tree per root", async () => {
    const tasks = [
      { name: "first", params: { executorId: "system_info" }, inputs: { resource: "node" } },
      { name: "second", params: { executorId: "aggregate_results" }, dependencies: ["second-child"] },
      { name: "second-child", parentId: "second", params: { executorId: "system_info" }, inputs: { resource: "os" } },
    ];
    const r = await runCli(["run", "-", "--json"], { cwd: dir, input: JSON.stringify(tasks) });
    expect(r.code).toBe(0);
    const report = parseJson<RunReport>(r);
    expect(report.trees.map((t) => t.tasks.length).sort()).toEqual([1, 2]);
    expect(report.trees.every((t) => t.status === "completed")).toBe(true);
  });

  it("waits for a root's future runAt, runs the tree then and exits 0", async () => {
    const runAt = new Date(Date.now() + 1500).toISOString();
    const tasks = [
      { name: "later", runAt, params: { executorId: "aggregate_results" }, dependencies: ["facts"] },
      { name: "facts", parentId: "later", params: { executorId: "system_info" }, inputs: { resource: "os" } },
    ];
    const r = await runCli(["run", "-", "--json"], { cwd: dir, input: JSON.stringify(tasks) });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const report = parseJson<RunReport>(r);
    expect(report.status).toBe("completed");
    const root = report.trees[0]?.tasks.find((t) => t.name === "later");
    expect(root?.status).toBe("completed");
    expect(Date.parse(root?.startedAt as string)).toBeGreaterThanOrEqual(Date.parse(runAt));
    // The live view too: it follows the events while the tree waits.
    const live = await runCli(["run", "-"], {
      cwd: dir,
      input: JSON.stringify([{ ...tasks[0], runAt: new Date(Date.now() + 1500).toISOString() }, tasks[1]]),
    });
    expect(live.code).toBe(0);
    expect(live.stdout).toContain("1 tree: 1 completed");
  }, 30_000);

  it("waits through a retry backoff, showing when the next attempt starts, and exits 0", async () => {
    // Fails the first time (it leaves a marker file), succeeds the second.
    const once =
      "const fs = require('fs'); if (!fs.existsSync('tried')) { fs.writeFileSync('tried', ''); process.exit(3); } console.log('second');";
    const tasks = [
      {
        name: "flaky",
        params: { executorId: "command" },
        inputs: { command: ["node", "-e", once] },
        retry: { maxAttempts: 2, backoff: { type: "fixed", delayMs: 300 } },
      },
    ];
    const r = await runCli(["run", "-"], {
      cwd: dir,
      input: JSON.stringify(tasks),
      env: { APFLOW_COMMAND_ENABLED: "1", APFLOW_COMMAND_ALLOW: "node" },
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/retrying +flaky COMMAND_FAILED: .* next attempt \d\d:\d\d:\d\d\.\d{3}/);
    expect(r.stdout).toMatch(/✔ flaky {2}completed/);
    expect(r.stdout).toContain("1 tree: 1 completed");
  }, 30_000);

  it("--demo returns demo results without running executors", async () => {
    const r = await runCli(["run", join(EXAMPLES, "fan-out-fan-in.json"), "--demo", "--concurrency", "2", "--json"], {
      cwd: dir,
    });
    expect(r.code).toBe(0);
    expect(parseJson<RunReport>(r).status).toBe("completed");
  });

  it("keeps the command executor disabled unless enabled and allow-listed", async () => {
    const off = await runCli(["run", join(EXAMPLES, "fan-out-fan-in.json"), "--json"], { cwd: dir });
    expect(off.code).toBe(1);
    const failed = parseJson<RunReport>(off).trees[0]?.tasks.filter((t) => t.error?.code === "COMMAND_DISABLED") ?? [];
    expect(failed.map((t) => t.name).sort()).toEqual(["count-alpha", "count-beta", "count-gamma", "node-version"]);

    const on = await runCli(["run", join(EXAMPLES, "fan-out-fan-in.json"), "--json"], {
      cwd: dir,
      env: { APFLOW_COMMAND_ENABLED: "1", APFLOW_COMMAND_ALLOW: "node,echo" },
    });
    expect(on.code).toBe(0);
    const root = parseJson<RunReport>(on).trees[0]?.tasks.find((t) => t.parentId === null) as Task;
    const results = (root.result as { results: Record<string, { stdout: string }> }).results;
    expect(results["count-alpha"]?.stdout.trim()).toBe("4");
    expect(results["count-gamma"]?.stdout.trim()).toBe("fan-in waits for every branch");
  });

  it("enables the command executor from apflow.config.json", async () => {
    writeFileSync(
      join(dir, "apflow.config.json"),
      JSON.stringify({ command: { enabled: true, allow: ["node", "echo"] } }),
    );
    const r = await runCli(["run", join(EXAMPLES, "fan-out-fan-in.json"), "--no-live"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("1 tree: 1 completed");
  });

  describe("bad input: a clear message, exit code 2, no stack trace", () => {
    const cycle = [
      { name: "root", dependencies: ["a"] },
      { name: "a", parentId: "root", dependencies: ["b"] },
      { name: "b", parentId: "root", dependencies: ["a"] },
    ];
    /** What the test is, files to write in the cwd, the arguments, the message expected. */
    const cases: Array<[string, Record<string, string>, string[], RegExp]> = [
      ["a missing file", {}, ["run", "no-such-file.json"], /file not found: .*no-such-file\.json/],
      ["invalid JSON", { "bad.json": "{ tasks: [" }, ["run", "bad.json"], /invalid JSON in .*bad\.json/],
      ["a JSON value that is not a task list", { "n.json": "42" }, ["run", "n.json"], /array of tasks/],
      [
        "a cyclic tree",
        { "cycle.json": JSON.stringify(cycle) },
        ["run", "cycle.json"],
        /circular dependency: (a -> b -> a|b -> a -> b)/,
      ],
      [
        "an unknown executor",
        { "x.json": JSON.stringify([{ name: "x", params: { executorId: "nope" } }]) },
        ["run", "x.json"],
        /nope/,
      ],
      ["an unknown option", {}, ["run", "x.json", "--bogus"], /unknown option '--bogus'/],
      ["a missing argument", {}, ["run"], /missing required argument 'file'/],
    ];
    for (const [what, files, args, message] of cases) {
      it(what, async () => {
        for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
        const r = await runCli(args, { cwd: dir });
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(STACK_LINE);
        expect(r.stdout).toBe("");
      });
    }
  });
});
