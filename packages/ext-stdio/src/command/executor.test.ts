import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { TaskErrorCode, TaskFailure } from "@aipartnerupflow/core";
import { afterAll, describe, expect, it } from "vitest";
import { makeContext, waitFor } from "../testing/context.js";
import type { CommandExecutorOptions, CommandResult } from "../types.js";
import { CommandErrorCode } from "./errors.js";
import { createCommandExecutor } from "./executor.js";
import { processAlive } from "./group.js";

const searchPath = [path.dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"];
const base: CommandExecutorOptions = {
  enabled: true,
  allow: ["echo", "node", "cat", "printenv", "pwd"],
  searchPath,
  killGraceMs: 300,
};
const noEnv: NodeJS.ProcessEnv = {};

function run(inputs: Record<string, unknown>, options: CommandExecutorOptions = base, t = makeContext()) {
  const def = createCommandExecutor(options, noEnv);
  return { promise: Promise.resolve(def.execute(inputs as never, t.ctx)), t };
}

async function failure(promise: Promise<unknown>): Promise<TaskFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskFailure);
  return err as TaskFailure;
}

const scratch = mkdtempSync(path.join(tmpdir(), "apflow-stdio-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A node program that forks a grandchild (ignoring SIGTERM), prints its pid, then waits forever. */
const forker = (grandchildStdio: "ignore" | "inherit") => `
const { spawn } = require("node:child_process");
const g = spawn(process.execPath, ["-e", "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: "${grandchildStdio}" });
console.log("grandchild " + g.pid);
setInterval(() => {}, 1000);
`;

describe("command: no shell, arguments arrive verbatim", () => {
  it("passes shell metacharacters literally and executes none of them", async () => {
    const dir = mkdtempSync(path.join(scratch, "inject-"));
    writeFileSync(path.join(dir, "x"), "keep me");
    const pwned = path.join(dir, "pwned");
    const args = ["; rm -rf x", `$(touch ${pwned})`, `\`touch ${pwned}\``, `| touch ${pwned}`, "&& echo owned", "*"];
    const { promise } = run({ command: ["echo", ...args], cwd: dir });
    const result = await promise;
    expect(result.stdout).toBe(`${args.join(" ")}\n`);
    expect(existsSync(path.join(dir, "x"))).toBe(true);
    expect(existsSync(pwned)).toBe(false);
  });

  it("hands each element to the program as one argv entry", async () => {
    const args = ["a b", "", "$HOME", "'quoted'", '"double"', "new\nline"];
    const { promise } = run({
      command: ["node", "-e", "process.stdout.write(JSON.stringify(process.argv.slice(1)))", ...args],
    });
    expect(JSON.parse((await promise).stdout)).toEqual(args);
  });
});

describe("command: refusals", () => {
  it("is disabled unless enabled", async () => {
    const { promise } = run({ command: ["echo", "hi"] }, { ...base, enabled: undefined });
    const err = await failure(promise);
    expect(err.code).toBe(CommandErrorCode.Disabled);
    expect(err.retryable).toBe(false);
  });

  it("refuses a program outside the allow-list", async () => {
    const { promise } = run({ command: ["ls", "/"] });
    const err = await failure(promise);
    expect(err.code).toBe(CommandErrorCode.NotAllowed);
    expect(err.retryable).toBe(false);
  });

  it("refuses paths that would bypass the allow-list by basename", async () => {
    const evil = path.join(scratch, "evil");
    rmSync(evil, { recursive: true, force: true });
    const dir = mkdtempSync(path.join(scratch, "bin-"));
    const fake = path.join(dir, "echo");
    writeFileSync(fake, `#!/bin/sh\ntouch ${evil}\n`, { mode: 0o755 });
    for (const program of [fake, "./echo", "../echo", "bin/echo", "/usr/bin/echo"]) {
      const { promise } = run({ command: [program, "hi"], cwd: dir });
      const err = await failure(promise);
      expect(err.code, program).toBe(CommandErrorCode.NotAllowed);
    }
    expect(existsSync(evil)).toBe(false);
  });

  it("ignores a task's PATH when resolving the program", async () => {
    const dir = mkdtempSync(path.join(scratch, "path-"));
    writeFileSync(path.join(dir, "echo"), "#!/bin/sh\necho hijacked\n", { mode: 0o755 });
    const { promise } = run({ command: ["echo", "real"], env: { PATH: dir } });
    expect((await failure(promise)).code).toBe(CommandErrorCode.EnvNotAllowed);
    // And with a clean env the real echo runs, found on the operator's search path only.
    const ok = await run({ command: ["echo", "real"] }).promise;
    expect(ok.stdout).toBe("real\n");
  });

  it("refuses env variables that inject code into allowed programs", async () => {
    for (const name of ["LD_PRELOAD", "NODE_OPTIONS", "BASH_ENV", "ld_library_path", "BASH_FUNC_echo%%"]) {
      const { promise } = run({ command: ["echo", "hi"], env: { [name]: "x" } });
      const err = await failure(promise);
      expect(err.code, name).toBe(CommandErrorCode.EnvNotAllowed);
    }
  });

  it("refuses shell: true unless shells are allowed", async () => {
    const { promise } = run({ command: ["echo hi"], shell: true });
    const err = await failure(promise);
    expect(err.code).toBe(CommandErrorCode.ShellNotAllowed);
    expect(err.retryable).toBe(false);
  });

  it("fails clearly when an allowed program does not exist", async () => {
    const { promise } = run(
      { command: ["no-such-program-apflow", "x"] },
      { ...base, allow: ["no-such-program-apflow"] },
    );
    const err = await failure(promise);
    expect(err.code).toBe(CommandErrorCode.NotFound);
    expect(err.message).toContain("no-such-program-apflow");
  });

  it("fails clearly on a cwd that is not a directory", async () => {
    const { promise } = run({ command: ["echo"], cwd: path.join(scratch, "missing-dir") });
    expect((await failure(promise)).code).toBe(CommandErrorCode.InvalidCwd);
  });

  it("rejects invalid inputs with the schema's issues", async () => {
    const { promise } = run({ command: [] });
    const err = await failure(promise);
    expect(err.code).toBe(CommandErrorCode.InvalidInputs);
    expect(err.retryable).toBe(false);
    const nul = await failure(run({ command: ["echo", "a\0b"] }).promise);
    expect(nul.code).toBe(CommandErrorCode.InvalidInputs);
  });
});

describe("command: shell when allowed", () => {
  const shellOptions = { ...base, allow: [...(base.allow ?? []), "sh"], allowShell: true };

  it("runs the script, with further elements as positional parameters that are never parsed", async () => {
    const pwned = path.join(scratch, "pwned-shell");
    const { promise } = run(
      { command: ['printf "%s|" "$1" "$2"; echo', `$(touch ${pwned})`, "; echo no"], shell: true },
      shellOptions,
    );
    const result = await promise;
    expect(result.stdout).toBe(`$(touch ${pwned})|; echo no|\n`);
    expect(existsSync(pwned)).toBe(false);
  });
});

describe("command: exit status", () => {
  it("fails with COMMAND_FAILED, the exit code and the end of stderr", async () => {
    const { promise } = run({ command: ["node", "-e", "console.error('boom: disk on fire'); process.exit(3)"] });
    const err = await failure(promise);
    expect(err.code).toBe(CommandErrorCode.Failed);
    expect(err.retryable).toBe(true);
    expect(err.details).toMatchObject({ exitCode: 3, signal: null });
    expect(err.details).toMatchObject({ stderrTail: expect.stringContaining("boom: disk on fire") });
  });

  it("returns the result with allowNonZeroExit", async () => {
    const { promise } = run({
      command: ["node", "-e", "console.log('partial'); process.exit(2)"],
      allowNonZeroExit: true,
    });
    const result = await promise;
    expect(result).toMatchObject({ exitCode: 2, signal: null, stdout: "partial\n", truncated: false });
  });
});

describe("command: stdin, env, cwd", () => {
  it("pipes stdin", async () => {
    const { promise } = run({ command: ["cat"], stdin: "line one\nline two\n" });
    expect((await promise).stdout).toBe("line one\nline two\n");
  });

  it("closes stdin when none is given (a reader sees end of file)", async () => {
    const { promise } = run({ command: ["cat"] });
    expect((await promise).stdout).toBe("");
  });

  it("passes env onto a minimal environment without the server's secrets", async () => {
    process.env.APFLOW_TEST_SECRET = "hunter2";
    try {
      const { promise } = run({
        command: ["node", "-e", "process.stdout.write(JSON.stringify(process.env))"],
        env: { GREETING: "hello world", EMPTY: "" },
      });
      const env = JSON.parse((await promise).stdout) as Record<string, string>;
      expect(env.GREETING).toBe("hello world");
      expect(env.EMPTY).toBe("");
      expect(env.APFLOW_TEST_SECRET).toBeUndefined();
      expect(env.PATH).toBe(searchPath.join(path.delimiter));
    } finally {
      delete process.env.APFLOW_TEST_SECRET;
    }
  });

  it("runs in cwd", async () => {
    const { promise } = run({ command: ["pwd"], cwd: scratch });
    expect((await promise).stdout.trim()).toBe(scratch);
  });
});

describe("command: output", () => {
  it("truncates a flood at maxOutputBytes, says so, and counts what was dropped", async () => {
    const chunks = 320; // 320 x 64 KiB = 20 MiB
    const script = `const b = Buffer.alloc(65536, 97); let n = ${chunks};
      (function w() { while (n > 0) { n--; if (!process.stdout.write(b)) return process.stdout.once("drain", w); } })();`;
    const { promise, t } = run({ command: ["node", "-e", script], maxOutputBytes: 100_000 });
    const result = await promise;
    expect(result.truncated).toBe(true);
    expect(result.stdout.length).toBe(100_000);
    expect(result.stdoutBytes).toBe(chunks * 65536);
    expect(result.stderr).toBe("");
    // One endless line: streamed once, cut at the line-length limit.
    expect(t.messages()).toHaveLength(1);
    expect(t.messages()[0]?.endsWith("…")).toBe(true);
  });

  it("keeps memory bounded while a program writes far more than the cap", async () => {
    const total = 256 * 1024 * 1024;
    const script = `const b = Buffer.alloc(1 << 20, 98); let n = ${total >> 20};
      (function w() { while (n > 0) { n--; if (!process.stdout.write(b)) return process.stdout.once("drain", w); } })();`;
    const used = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const baseline = used();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, used());
    }, 5);
    try {
      const result = await run({ command: ["node", "-e", script], maxOutputBytes: 64 * 1024 }).promise;
      expect(result.stdoutBytes).toBe(total);
      expect(result.stdout.length).toBe(64 * 1024);
    } finally {
      clearInterval(sampler);
    }
    // Buffering the output would need at least `total` bytes; garbage not yet collected is far less.
    expect(peak - baseline).toBeLessThan(total / 2);
  });

  it("never lets a task raise maxOutputBytes above the operator's ceiling", async () => {
    const { promise } = run(
      { command: ["node", "-e", "process.stdout.write('x'.repeat(5000))"], maxOutputBytes: 1_000_000 },
      { ...base, maxOutputBytes: 1000 },
    );
    const result = await promise;
    expect(result.stdout).toHaveLength(1000);
    expect(result.truncated).toBe(true);
  });

  it("does not split a UTF-8 character when truncating", async () => {
    const { promise } = run({ command: ["node", "-e", "process.stdout.write('é'.repeat(10))"], maxOutputBytes: 5 });
    const result = await promise;
    expect(result.stdout).toBe("éé");
    expect(result.stdoutBytes).toBe(20);
  });

  it("streams output lines as progress events, stderr marked, progress within 0..1", async () => {
    const { promise, t } = run({
      command: [
        "node",
        "-e",
        "console.log('one'); console.error('oops'); console.log('two\\r'); process.stdout.write('three')",
      ],
    });
    await promise;
    const messages = t.messages();
    expect(messages.filter((m) => !m.startsWith("[stderr]"))).toEqual(["one", "two", "three"]);
    expect(messages).toContain("[stderr] oops");
    // Output lines carry no progress value: the task's progress stays as it was.
    for (const p of t.progress) expect(p.progress).toBeNull();
  });

  it("rate-limits a flood of lines and accounts for every line it did not stream", async () => {
    const lines = 50_000;
    const { promise, t } = run(
      {
        command: [
          "node",
          "-e",
          `let s = ""; for (let i = 0; i < ${lines}; i++) s += i + "\\n"; process.stdout.write(s)`,
        ],
      },
      { ...base, progress: { burst: 10, linesPerSecond: 5 } },
    );
    const result = await promise;
    expect(result.stdoutBytes).toBeGreaterThan(lines);
    const messages = t.messages();
    const notices = messages.map((m) => /^\[\.\.\. (\d+) lines? not streamed\]$/.exec(m)).filter((m) => m !== null);
    const skipped = notices.reduce((sum, m) => sum + Number(m[1]), 0);
    const streamed = messages.length - notices.length;
    expect(notices.length).toBeGreaterThan(0);
    expect(streamed + skipped).toBe(lines);
    expect(messages.length).toBeLessThan(lines / 10);
  });
});

describe("command: cancellation and timeout kill the whole process group", () => {
  it("kills the program and its grandchild when the signal aborts", async () => {
    const t = makeContext();
    const { promise } = run({ command: ["node", "-e", forker("ignore")] }, base, t);
    const line = await t.waitForMessage((m) => m.startsWith("grandchild "));
    const grandchild = Number(line.split(" ")[1]);
    expect(processAlive(grandchild)).toBe(true);
    t.controller.abort();
    const err = await failure(promise);
    expect(err.code).toBe(TaskErrorCode.Cancelled);
    // The output read before the cancel is kept as the partial result.
    expect(err.details).toMatchObject({ partialResult: { stdout: `${line}\n`, exitCode: null } });
    await waitFor(() => !processAlive(grandchild), "the grandchild to die");
  });

  it("kills the program and its grandchild on timeout, even when the grandchild holds the pipes", async () => {
    const { promise } = run({ command: ["node", "-e", forker("inherit")], timeoutMs: 5000 });
    const err = await failure(promise);
    expect(err.code).toBe(CommandErrorCode.Timeout);
    expect(err.details).toMatchObject({ timeoutMs: 5000, exitCode: null, signal: "SIGTERM" });
    const grandchild = Number(/grandchild (\d+)/.exec((err.details as { stdoutTail: string }).stdoutTail)?.[1]);
    expect(grandchild).toBeGreaterThan(0);
    await waitFor(() => !processAlive(grandchild), "the grandchild to die");
  });

  it("tears down children left behind when the program exits by itself", async () => {
    const script = `const { spawn } = require("node:child_process");
      const g = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
      g.unref();
      console.log("grandchild " + g.pid);`;
    const t = makeContext();
    const { promise } = run({ command: ["node", "-e", script] }, base, t);
    const result: CommandResult = await promise;
    expect(result.exitCode).toBe(0);
    const grandchild = Number(result.stdout.trim().split(" ")[1]);
    expect(grandchild).toBeGreaterThan(0);
    await waitFor(() => !processAlive(grandchild), "the left-behind child to die");
  });

  it("does not start when the signal is already aborted", async () => {
    const t = makeContext();
    t.controller.abort();
    const pwned = path.join(scratch, "started-anyway");
    const { promise } = run(
      { command: ["node", "-e", `require("fs").writeFileSync(${JSON.stringify(pwned)}, "")`] },
      base,
      t,
    );
    await expect(promise).rejects.toBeDefined();
    expect(existsSync(pwned)).toBe(false);
  });
});
