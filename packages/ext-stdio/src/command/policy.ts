import { constants as fsConstants } from "node:fs";
import { access, stat } from "node:fs/promises";
import path from "node:path";
import type { CommandExecutorOptions } from "../types.js";
import { CommandErrorCode, refuse } from "./errors.js";
import type { CommandInputs } from "./schema.js";

/** The operator configuration with every default filled in. */
export interface CommandPolicy {
  enabled: boolean;
  allow: string[];
  allowShell: boolean;
  shellPath: string;
  searchPath: string[];
  inheritEnv: boolean;
  maxOutputBytes: number;
  defaultTimeoutMs: number | undefined;
  killGraceMs: number;
  progress: { linesPerSecond: number; burst: number; maxLineLength: number };
}

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
export const DEFAULT_KILL_GRACE_MS = 2000;

/** Environment variables read when the plugin options leave a setting out. */
export const CommandEnv = {
  enabled: "APFLOW_COMMAND_ENABLED",
  allow: "APFLOW_COMMAND_ALLOW",
  allowShell: "APFLOW_COMMAND_ALLOW_SHELL",
} as const;

/**
 * Variables a task's `env` may not set: they make the dynamic loader, a shell or an interpreter
 * run code the task chose inside an allowed program, or (PATH) change which programs an allowed
 * program starts. Names are compared case-insensitively; entries ending in `*` are prefixes.
 */
export const REFUSED_ENV_VARIABLES: readonly string[] = [
  "PATH",
  "LD_*",
  "DYLD_*",
  "IFS",
  "ENV",
  "BASH_ENV",
  "BASH_FUNC_*",
  "SHELLOPTS",
  "BASHOPTS",
  "PS4",
  "NODE_OPTIONS",
  "NODE_PATH",
  "PYTHONPATH",
  "PYTHONSTARTUP",
  "PYTHONHOME",
  "PERL5OPT",
  "PERL5LIB",
  "PERLLIB",
  "RUBYOPT",
  "RUBYLIB",
  "GCONV_PATH",
  // Where shells, git, editors and pagers read startup or configuration files from.
  "HOME",
  "XDG_*",
  "ZDOTDIR",
  "PROMPT_COMMAND",
  // git: configuration, helper programs and the program run for ssh.
  "GIT_*",
  "SSH_ASKPASS",
  // JVM, Python, Perl and Ruby options that load code.
  "JAVA_TOOL_OPTIONS",
  "_JAVA_OPTIONS",
  "JDK_JAVA_OPTIONS",
  "CLASSPATH",
  "PYTHONWARNINGS",
  "PYTHONINSPECT",
  "PYTHONUSERBASE",
  "PERL5DB",
  "PERLDB_OPTS",
  // Programs other programs start.
  "LESSOPEN",
  "LESSCLOSE",
  "PAGER",
  "GIT_PAGER",
  "MANPAGER",
  "EDITOR",
  "VISUAL",
  "BROWSER",
  "SHELL",
];

/** Variables copied from the server's environment into the minimal safe one (when present). */
export const SAFE_ENV_VARIABLES: readonly string[] = [
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "LC_ALL",
  "LC_CTYPE",
  "TZ",
  "TMPDIR",
];

/** Combine plugin options with the environment fallback (per setting: an option wins when set). */
export function resolveCommandPolicy(
  options: CommandExecutorOptions | undefined,
  env: NodeJS.ProcessEnv = process.env,
): CommandPolicy {
  const o = options ?? {};
  const searchPath = (o.searchPath ?? (env.PATH ?? "").split(path.delimiter)).filter((dir) => path.isAbsolute(dir));
  return {
    enabled: o.enabled ?? parseFlag(env[CommandEnv.enabled]),
    allow: o.allow ?? parseList(env[CommandEnv.allow]),
    allowShell: o.allowShell ?? parseFlag(env[CommandEnv.allowShell]),
    shellPath: o.shellPath ?? "/bin/sh",
    searchPath,
    inheritEnv: o.inheritEnv ?? false,
    maxOutputBytes: positive(o.maxOutputBytes) ?? DEFAULT_MAX_OUTPUT_BYTES,
    defaultTimeoutMs: positive(o.defaultTimeoutMs),
    killGraceMs: o.killGraceMs !== undefined && o.killGraceMs >= 0 ? o.killGraceMs : DEFAULT_KILL_GRACE_MS,
    progress: {
      linesPerSecond: positive(o.progress?.linesPerSecond) ?? 20,
      burst: Math.max(2, positive(o.progress?.burst) ?? 50),
      maxLineLength: positive(o.progress?.maxLineLength) ?? 1000,
    },
  };
}

/** What will be spawned: an absolute program path and its argv, never a string for a shell to parse. */
export interface SpawnPlan {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/**
 * Check a request against the policy and turn it into a spawn plan. Refusals come in a fixed
 * order (disabled, shell, allow-list, env, cwd, existence), so a caller cannot learn whether a
 * program exists unless it is allowed to run it.
 */
export async function planCommand(
  inputs: CommandInputs,
  policy: CommandPolicy,
  serverEnv: NodeJS.ProcessEnv = process.env,
): Promise<SpawnPlan> {
  if (!policy.enabled) {
    throw refuse(
      CommandErrorCode.Disabled,
      `the command executor is disabled; enable it with plugin options { command: { enabled: true, allow: [...] } } or ${CommandEnv.enabled}=1`,
    );
  }
  const [head, ...rest] = inputs.command as [string, ...string[]];
  let file: string;
  let args: string[];
  if (inputs.shell) {
    if (!policy.allowShell) {
      throw refuse(
        CommandErrorCode.ShellNotAllowed,
        `shell: true is not allowed; the operator must set { command: { allowShell: true } } or ${CommandEnv.allowShell}=1`,
      );
    }
    // The shell is a program like any other: it must be allow-listed too (`sh`, the base name of
    // `shellPath`, or its absolute path), so allowShell alone never widens the allow-list.
    checkShellAllowed(policy.shellPath, policy.allow);
    file = policy.shellPath;
    // `sh -c script sh arg1 arg2`: further elements become $1, $2 ... and are never parsed as code.
    args = ["-c", head, "sh", ...rest];
  } else {
    checkAllowed(head, policy.allow);
    file = head;
    args = rest;
  }
  const env = buildEnv(inputs.env, policy, serverEnv);
  const cwd = await checkCwd(inputs.cwd);
  const resolved = await resolveProgram(file, policy.searchPath);
  if (!resolved) {
    throw refuse(CommandErrorCode.NotFound, `program not found: ${file}`, {
      program: file,
      searchPath: file.includes("/") ? [] : policy.searchPath,
    });
  }
  return { file: resolved, args, cwd, env };
}

/**
 * A bare name runs only if the allow-list holds exactly that name; a path (anything with a `/`)
 * runs only if the allow-list holds exactly that absolute path. So with `allow: ["echo"]`,
 * `/tmp/evil/echo`, `./echo` and `../bin/echo` are all refused.
 */
export function checkAllowed(program: string, allow: readonly string[]): void {
  const ok = program.includes("/")
    ? path.isAbsolute(program) &&
      allow.some((entry) => path.isAbsolute(entry) && path.normalize(entry) === path.normalize(program))
    : allow.includes(program);
  if (!ok) {
    throw refuse(
      CommandErrorCode.NotAllowed,
      program.includes("/")
        ? `program ${program} is not allowed: a path runs only if the allow-list names that exact absolute path`
        : `program ${program} is not in the allow-list`,
      { program, allow: [...allow] },
    );
  }
}

/** `shell: true` runs `shellPath`, which the allow-list must name (base name or absolute path). */
export function checkShellAllowed(shellPath: string, allow: readonly string[]): void {
  const name = path.basename(shellPath);
  const ok =
    allow.includes(name) ||
    allow.some((entry) => path.isAbsolute(entry) && path.normalize(entry) === path.normalize(shellPath));
  if (!ok) {
    throw refuse(
      CommandErrorCode.NotAllowed,
      `shell: true runs ${shellPath}, which is not in the allow-list; add "${name}" (or "${shellPath}") to allow shell scripts`,
      { program: shellPath, allow: [...allow] },
    );
  }
}

export function isRefusedEnvVariable(name: string): boolean {
  const upper = name.toUpperCase();
  return REFUSED_ENV_VARIABLES.some((entry) =>
    entry.endsWith("*") ? upper.startsWith(entry.slice(0, -1)) : upper === entry,
  );
}

/**
 * The program's environment: the minimal safe one (PATH = the search path, plus HOME, USER,
 * LOGNAME, LANG, LC_*, TZ, TMPDIR from the server) or the server's whole environment when
 * `inheritEnv` is on; then the task's `env` on top, minus refused variables.
 */
export function buildEnv(
  taskEnv: Record<string, string> | undefined,
  policy: CommandPolicy,
  serverEnv: NodeJS.ProcessEnv,
): Record<string, string> {
  const refused = Object.keys(taskEnv ?? {}).filter(isRefusedEnvVariable);
  if (refused.length > 0) {
    throw refuse(CommandErrorCode.EnvNotAllowed, `env may not set ${refused.join(", ")}`, { variables: refused });
  }
  const base: Record<string, string> = {};
  if (policy.inheritEnv) {
    for (const [k, v] of Object.entries(serverEnv)) if (v !== undefined) base[k] = v;
  } else {
    for (const k of SAFE_ENV_VARIABLES) {
      const v = serverEnv[k];
      if (v !== undefined) base[k] = v;
    }
    base.PATH = policy.searchPath.join(path.delimiter);
  }
  return { ...base, ...taskEnv };
}

async function checkCwd(cwd: string | undefined): Promise<string> {
  const dir = path.resolve(cwd ?? process.cwd());
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw refuse(CommandErrorCode.InvalidCwd, `cwd is not a directory: ${dir}`, { cwd: dir });
  }
  return dir;
}

/** An absolute path is checked as is; a bare name is looked up in the trusted search path only. */
export async function resolveProgram(program: string, searchPath: readonly string[]): Promise<string | undefined> {
  if (program.includes("/")) return (await isExecutableFile(program)) ? program : undefined;
  for (const dir of searchPath) {
    const candidate = path.join(dir, program);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return false;
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function parseFlag(value: string | undefined): boolean {
  return value !== undefined && ["1", "true", "yes", "on"].includes(value.trim().toLowerCase());
}

function parseList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function positive(n: number | undefined): number | undefined {
  return n !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}
