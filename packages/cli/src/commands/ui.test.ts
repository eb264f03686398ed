import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createToken } from "@aipartnerupflow/api-a2a";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BIN, startServe, tempDir } from "../test-util/cli.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

async function rpc(url: string, method: string, params: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(`${url}/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return { status: r.status, body: (await r.json()) as { result?: any; error?: { message: string } } };
}

interface Ui {
  url: string;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

/** `apflow ui --no-open` on a free port; resolves with its address once it prints it. */
function startUi(args: string[]): Promise<Ui> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("APFLOW_")) env[k] = v;
  const child = spawn(process.execPath, [BIN, "ui", "--no-open", ...args], { cwd: dir, env, stdio: "pipe" });
  const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  let stderr = "";
  return new Promise((resolve, reject) => {
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      const m = /apflow dashboard on (http:\/\/\S+?)\/ui\//.exec(stderr);
      if (m?.[1]) {
        resolve({
          url: m[1],
          child,
          stop: () => {
            child.kill("SIGINT");
            return exited;
          },
        });
      }
    });
    exited.then((code) => reject(new Error(`apflow ui exited with ${code}:\n${stderr}`)));
  });
}

describe("apflow ui", () => {
  it("serves the dashboard and the API over the local store", async () => {
    const ui = await startUi(["--db", join(dir, "ui.db")]);
    try {
      const page = await fetch(`${ui.url}/ui/trees/abc`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
      expect(await page.text()).toContain('src="/ui/assets/app.js');
      const created = await rpc(ui.url, "tasks.create", {
        tasks: [{ name: "solo", params: { executorId: "aggregate_results" } }],
      });
      const run = await rpc(ui.url, "tasks.execute", { taskId: created.body.result.rootId, wait: true });
      expect(run.body.result.status).toBe("completed");
    } finally {
      expect(await ui.stop()).toBe(0);
    }
  });

  it("with --server serves the page and forwards its API calls (token included) to that server", async () => {
    const secret = "test-secret-that-is-long-enough-for-hs256";
    const server = await startServe({ cwd: dir, env: { APFLOW_JWT_SECRET: secret } });
    let ui: Ui | undefined;
    try {
      ui = await startUi(["--server", server.url]);
      expect((await fetch(`${ui.url}/ui/`)).status).toBe(200);
      expect((await rpc(ui.url, "tasks.list", {})).status).toBe(401);
      const token = await createToken({ secret, sub: "alice" });
      const listed = await rpc(ui.url, "tasks.list", {}, { authorization: `Bearer ${token}` });
      expect(listed.status).toBe(200);
      expect(listed.body.result.total).toBe(0);
    } finally {
      if (ui) expect(await ui.stop()).toBe(0);
      expect(await server.stop()).toBe(0);
    }
  });
});
