import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const DIST = fileURLToPath(new URL("../../dist/index.js", import.meta.url));

/**
 * A plain script, the way a user writes one: `await engine.runTree(...)` and nothing else. The tree
 * has to wait (its root's runAt 1.5 s ahead, a task failing once with a 300 ms backoff), while no
 * task runs and no other handle holds the process; the engine's hold keeps it up until the outcome.
 */
const SCRIPT = `
import { Engine, MemoryStore, Registry, TaskFailure, defineExecutor } from ${JSON.stringify(pathToFileURL(DIST).href)};
let calls = 0;
const registry = new Registry();
registry.registerExecutor(defineExecutor({
  id: "flaky",
  execute: () => {
    calls++;
    if (calls === 1) throw new TaskFailure("FLAKY", "the first attempt fails");
    return { calls };
  },
}));
const engine = new Engine({ store: new MemoryStore(), registry });
const outcome = await engine.runTree([
  { name: "root", runAt: new Date(Date.now() + 1500).toISOString(), dependencies: ["flaky"] },
  { name: "flaky", parentId: "root", params: { executorId: "flaky" },
    retry: { maxAttempts: 2, backoff: { type: "fixed", delayMs: 300 } } },
]);
const flaky = outcome.tasks.find((t) => t.name === "flaky");
console.log(JSON.stringify({ status: outcome.status, result: flaky.result, attempt: flaky.attempt }));
`;

function runScript(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", SCRIPT], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("an engine holds its process while an execution it started is unfinished", () => {
  it("a script awaiting runTree waits through a root runAt and a retry backoff, and exits 0 with the result", async () => {
    if (!existsSync(DIST)) throw new Error(`build core first (pnpm build): ${DIST} is missing`);
    const r = await runScript();
    expect(r.stderr).toBe("");
    // Without the hold Node ends the script with its top-level await unsettled: exit code 13.
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ status: "completed", result: { calls: 2 }, attempt: 2 });
  }, 30_000);
});
