import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { TaskFailure } from "@aipartnerupflow/core";
import { afterAll, describe, expect, it } from "vitest";
import { CommandErrorCode } from "./errors.js";
import {
  buildEnv,
  checkAllowed,
  isRefusedEnvVariable,
  planCommand,
  resolveCommandPolicy,
  resolveProgram,
  DEFAULT_MAX_OUTPUT_BYTES,
} from "./policy.js";
import { commandInputSchema } from "./schema.js";

const inputs = (raw: Record<string, unknown>) => commandInputSchema.parse(raw);
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TaskFailure);
    return (err as TaskFailure).code;
  }
  throw new Error("expected a refusal");
};

const scratch = mkdtempSync(path.join(tmpdir(), "apflow-policy-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("resolveCommandPolicy", () => {
  it("is disabled with an empty allow-list and no shell by default", () => {
    const p = resolveCommandPolicy(undefined, { PATH: "/usr/bin:/bin" });
    expect(p).toMatchObject({ enabled: false, allow: [], allowShell: false, inheritEnv: false });
    expect(p.maxOutputBytes).toBe(DEFAULT_MAX_OUTPUT_BYTES);
    expect(p.searchPath).toEqual(["/usr/bin", "/bin"]);
  });

  it("falls back to APFLOW_COMMAND_* for settings the options leave out", () => {
    const env = {
      APFLOW_COMMAND_ENABLED: "1",
      APFLOW_COMMAND_ALLOW: " echo, ls ,,",
      APFLOW_COMMAND_ALLOW_SHELL: "true",
    };
    expect(resolveCommandPolicy(undefined, env)).toMatchObject({
      enabled: true,
      allow: ["echo", "ls"],
      allowShell: true,
    });
    expect(resolveCommandPolicy({ allow: ["cat"] }, env)).toMatchObject({ enabled: true, allow: ["cat"] });
  });

  it("lets options win over the environment, in both directions", () => {
    const env = { APFLOW_COMMAND_ENABLED: "1", APFLOW_COMMAND_ALLOW_SHELL: "1" };
    expect(resolveCommandPolicy({ enabled: false, allowShell: false }, env)).toMatchObject({
      enabled: false,
      allowShell: false,
    });
    expect(resolveCommandPolicy({ enabled: true }, { APFLOW_COMMAND_ENABLED: "0" }).enabled).toBe(true);
  });

  it("reads only explicit truthy words as enabled", () => {
    for (const v of ["0", "false", "", "no", "enabled?"]) {
      expect(resolveCommandPolicy(undefined, { APFLOW_COMMAND_ENABLED: v }).enabled, v).toBe(false);
    }
  });

  it("drops relative search path entries (a cwd-dependent lookup is a bypass)", () => {
    expect(resolveCommandPolicy(undefined, { PATH: ".:bin::/usr/bin" }).searchPath).toEqual(["/usr/bin"]);
  });
});

describe("checkAllowed", () => {
  it("allows exactly the bare names listed", () => {
    expect(() => checkAllowed("echo", ["echo"])).not.toThrow();
    expect(codeOf(() => checkAllowed("echo2", ["echo"]))).toBe(CommandErrorCode.NotAllowed);
    expect(codeOf(() => checkAllowed("ECHO", ["echo"]))).toBe(CommandErrorCode.NotAllowed);
  });

  it("refuses any path whose basename is allowed", () => {
    for (const program of ["/tmp/evil/echo", "./echo", "../echo", "sub/echo", "/usr/bin/echo"]) {
      expect(
        codeOf(() => checkAllowed(program, ["echo"])),
        program,
      ).toBe(CommandErrorCode.NotAllowed);
    }
  });

  it("allows an absolute path only when the allow-list names that path", () => {
    expect(() => checkAllowed("/opt/tools/report", ["/opt/tools/report"])).not.toThrow();
    expect(() => checkAllowed("/opt/tools/../tools/report", ["/opt/tools/report"])).not.toThrow();
    expect(codeOf(() => checkAllowed("/opt/other/report", ["/opt/tools/report"]))).toBe(CommandErrorCode.NotAllowed);
    expect(codeOf(() => checkAllowed("report", ["/opt/tools/report"]))).toBe(CommandErrorCode.NotAllowed);
  });
});

describe("environment", () => {
  const policy = resolveCommandPolicy({ searchPath: ["/usr/bin", "/bin"] }, {});
  const server = {
    PATH: "/server/bin",
    HOME: "/home/app",
    LANG: "C.UTF-8",
    DATABASE_URL: "postgres://secret",
    OPENAI_API_KEY: "sk-x",
  };

  it("starts from a minimal environment: PATH is the search path, no server secrets", () => {
    expect(buildEnv({ A: "1" }, policy, server)).toEqual({
      HOME: "/home/app",
      LANG: "C.UTF-8",
      PATH: "/usr/bin:/bin",
      A: "1",
    });
  });

  it("inherits the whole server environment only when the operator says so", () => {
    const env = buildEnv({ A: "1" }, { ...policy, inheritEnv: true }, server);
    expect(env).toMatchObject({ DATABASE_URL: "postgres://secret", PATH: "/server/bin", A: "1" });
  });

  it("refuses loader, shell and interpreter injection variables, whatever their case", () => {
    for (const name of [
      "PATH",
      "LD_PRELOAD",
      "ld_audit",
      "DYLD_INSERT_LIBRARIES",
      "NODE_OPTIONS",
      "BASH_ENV",
      "BASH_FUNC_ls%%",
      "PYTHONPATH",
    ]) {
      expect(isRefusedEnvVariable(name), name).toBe(true);
    }
    for (const name of [
      "HOME",
      "XDG_CONFIG_HOME",
      "GIT_CONFIG_GLOBAL",
      "git_ssh_command",
      "GIT_EXEC_PATH",
      "GIT_ASKPASS",
      "SSH_ASKPASS",
      "JAVA_TOOL_OPTIONS",
      "_JAVA_OPTIONS",
      "JDK_JAVA_OPTIONS",
      "PYTHONWARNINGS",
      "PERL5DB",
      "LESSOPEN",
      "PAGER",
      "EDITOR",
      "VISUAL",
      "ZDOTDIR",
      "ENV",
      "PROMPT_COMMAND",
      "IFS",
    ]) {
      expect(isRefusedEnvVariable(name), name).toBe(true);
    }
    for (const name of ["GREETING", "NODE_ENV", "LDFLAGS", "HOMEPAGE", "GITHUB_SHA"])
      expect(isRefusedEnvVariable(name), name).toBe(false);
    expect(codeOf(() => buildEnv({ LD_PRELOAD: "/tmp/x.so" }, policy, server))).toBe(CommandErrorCode.EnvNotAllowed);
    expect(codeOf(() => buildEnv({ GIT_SSH_COMMAND: "sh -c id" }, policy, server))).toBe(
      CommandErrorCode.EnvNotAllowed,
    );
    // The server's own HOME still reaches the program through the minimal environment.
    expect(buildEnv({}, policy, { HOME: "/home/svc" }).HOME).toBe("/home/svc");
  });
});

describe("planCommand", () => {
  const enabled = resolveCommandPolicy({ enabled: true, allow: ["echo"], searchPath: ["/usr/bin", "/bin"] }, {});

  it("resolves a bare name on the search path to an absolute program", async () => {
    const plan = await planCommand(inputs({ command: ["echo", "a", "b"] }), enabled, {});
    expect(path.isAbsolute(plan.file)).toBe(true);
    expect(path.basename(plan.file)).toBe("echo");
    expect(plan.args).toEqual(["a", "b"]);
  });

  it("refuses in a fixed order: disabled before anything else", async () => {
    const disabled = { ...enabled, enabled: false };
    await expect(planCommand(inputs({ command: ["rm", "-rf", "/"] }), disabled, {})).rejects.toMatchObject({
      code: CommandErrorCode.Disabled,
    });
    await expect(planCommand(inputs({ command: ["x"], shell: true }), disabled, {})).rejects.toMatchObject({
      code: CommandErrorCode.Disabled,
    });
  });

  it("does not reveal whether a refused program exists", async () => {
    await expect(planCommand(inputs({ command: ["no-such-thing"] }), enabled, {})).rejects.toMatchObject({
      code: CommandErrorCode.NotAllowed,
    });
  });

  it("builds `sh -c script sh args...` for an allowed shell", async () => {
    const plan = await planCommand(
      inputs({ command: ['echo "$1"', "x; y"], shell: true }),
      { ...enabled, allow: ["echo", "sh"], allowShell: true },
      {},
    );
    expect(plan.file).toBe("/bin/sh");
    expect(plan.args).toEqual(["-c", 'echo "$1"', "sh", "x; y"]);
  });

  it("runs a shell only when allowShell is set AND the shell itself is allow-listed", async () => {
    const script = inputs({ command: ["id"], shell: true });
    await expect(planCommand(script, { ...enabled, allowShell: true }, {})).rejects.toMatchObject({
      code: CommandErrorCode.NotAllowed,
    });
    await expect(planCommand(script, { ...enabled, allow: ["echo", "sh"] }, {})).rejects.toMatchObject({
      code: CommandErrorCode.ShellNotAllowed,
    });
    const byPath = await planCommand(script, { ...enabled, allow: ["/bin/sh"], allowShell: true }, {});
    expect(byPath.file).toBe("/bin/sh");
    // "sh" names the default shell only: another shellPath needs its own name or path.
    await expect(
      planCommand(script, { ...enabled, allow: ["sh"], allowShell: true, shellPath: "/bin/bash" }, {}),
    ).rejects.toMatchObject({ code: CommandErrorCode.NotAllowed });
  });

  it("finds only executable files", async () => {
    const dir = mkdtempSync(path.join(scratch, "bin-"));
    writeFileSync(path.join(dir, "plain"), "not executable", { mode: 0o644 });
    writeFileSync(path.join(dir, "tool"), "#!/bin/sh\n", { mode: 0o755 });
    expect(await resolveProgram("plain", [dir])).toBeUndefined();
    expect(await resolveProgram("tool", [dir])).toBe(path.join(dir, "tool"));
    expect(await resolveProgram(path.join(dir, "tool"), [])).toBe(path.join(dir, "tool"));
    expect(await resolveProgram(dir, [])).toBeUndefined();
  });
});
