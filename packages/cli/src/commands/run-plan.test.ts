import { spawn, spawnSync } from "node:child_process";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunReport } from "../execution.js";
import { BIN, eventually, runCli, spawnCli, tempDir } from "../test-util/cli.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const NO_PROVIDER = { OPENAI_API_KEY: "", ANTHROPIC_API_KEY: "", APFLOW_LLM_BASE_URL: "" };

/** The plan a fake OpenAI-compatible provider answers for every request: read the disk, report. */
const PLAN = {
  tasks: [
    { name: "report", params: { executorId: "aggregate_results" }, dependencies: ["disk"] },
    { name: "disk", parentId: "report", params: { executorId: "system_info" }, inputs: { resource: "disk" } },
  ],
};

async function withProvider(run: (env: Record<string, string>) => Promise<void>): Promise<void> {
  const provider: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          id: "c1",
          object: "chat.completion",
          created: 0,
          model: "fake",
          choices: [{ index: 0, message: { role: "assistant", content: JSON.stringify(PLAN) }, finish_reason: "stop" }],
          usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => provider.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = provider.address() as AddressInfo;
    await run({
      APFLOW_LLM_MODEL: "compatible:fake",
      APFLOW_LLM_BASE_URL: `http://127.0.0.1:${port}/v1`,
      APFLOW_LLM_API_KEY: "k",
    });
  } finally {
    await new Promise((resolve) => provider.close(resolve));
  }
}

describe("apflow run --plan", () => {
  it("plans the request, and with --approve runs the plan to completion", async () => {
    await withProvider(async (env) => {
      const r = await runCli(
        ["run", "--plan", "check the disk space on the data volume and report", "--approve", "--json"],
        {
          cwd: dir,
          env,
        },
      );
      expect(r.code).toBe(0);
      // The plan is shown on stderr; stdout stays JSON.
      expect(r.stderr).toContain('Run this plan for "check the disk space on the data volume and report"?');
      const report = JSON.parse(r.stdout) as RunReport;
      expect(report.status).toBe("completed");
      const names = report.trees[0]?.tasks.map((t) => t.name).sort();
      expect(names).toEqual(["approve-plan", "disk", "report"]);
      const approval = report.trees[0]?.tasks.find((t) => t.name === "approve-plan");
      expect(approval?.result).toMatchObject({ approved: true });
    });
  });

  it("off a terminal without --approve, the tree waits at the approval; tasks resume --reject fails it", async () => {
    await withProvider(async (env) => {
      const cli = spawnCli(["run", "--plan", "check the disk", "--no-live"], { cwd: dir, env });
      await expect.poll(() => cli.stderr(), { timeout: 20_000 }).toMatch(/apflow tasks resume [0-9a-f-]{36}/);
      const id = /apflow tasks resume ([0-9a-f-]{36})/.exec(cli.stderr())?.[1] as string;
      await expect
        .poll(async () => JSON.parse((await runCli(["tasks", "get", id, "--json"], { cwd: dir, env })).stdout).status, {
          timeout: 20_000,
        })
        .toBe("waiting");
      const answered = await runCli(["tasks", "resume", id, "--reject", "--no-follow"], { cwd: dir, env });
      expect(answered.code).toBe(0);
      const r = await cli.done;
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("REJECTED");
    });
  });

  it("without a provider, refuses and names how to configure one (exit 2)", async () => {
    const r = await runCli(["run", "--plan", "check the disk"], { cwd: dir, env: NO_PROVIDER });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no LLM provider: .*OPENAI_API_KEY/);
    expect(r.stderr).toContain("APFLOW_LLM_BASE_URL");
  });

  it("needs exactly one of a task file and --plan", async () => {
    expect((await runCli(["run"], { cwd: dir })).code).toBe(2);
  });
});

const hasScript = spawnSync("script", ["--version"]).status === 0;

describe.skipIf(!hasScript)("apflow run --plan on a terminal (pseudo-terminal)", () => {
  it("shows the plan, asks, and runs it once approved", { timeout: 60_000 }, async () => {
    await withProvider(async (llm) => {
      const command = [process.execPath, BIN, "run", "--plan", "check the disk"].map((a) => `'${a}'`).join(" ");
      const child = spawn("script", ["-qec", command, "/dev/null"], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: dir, NO_COLOR: "1", TERM: "xterm", ...llm },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        out += d;
      });
      const done = new Promise<number | null>((resolve) => child.on("close", resolve));
      try {
        await eventually(async () => (out.includes("waits for an answer") ? true : undefined));
        expect(out).toContain('Run this plan for "check the disk"?');
        expect(out).toContain("- disk (system_info)");
        child.stdin.write("y\r");
        expect(await done).toBe(0);
        expect(out).toContain("1 tree: 1 completed");
      } finally {
        child.kill("SIGKILL");
      }
    });
  });
});
