import { z } from "zod";

/** No NUL bytes: the OS would cut the string there, so what runs would differ from what was checked. */
const noNul = (s: string) => !s.includes("\0");
const text = z.string().refine(noNul, "must not contain NUL characters");

/**
 * Inputs of the `command` executor. `command` is an argv array: the program, then its
 * arguments, each passed to the program verbatim (no shell, no globbing, no splitting).
 */
export const commandInputSchema = z.object({
  command: z
    .array(text)
    .min(1)
    .refine((argv) => (argv[0] ?? "").length > 0, "the program (command[0]) must not be empty")
    .describe(
      "argv: [program, ...args]. Each argument reaches the program verbatim. With shell: true, command[0] is the script and further elements are its positional parameters $1, $2, ...",
    ),
  shell: z
    .boolean()
    .default(false)
    .describe("Run command[0] as a script under /bin/sh -c. Refused unless the operator allows shells."),
  cwd: text.optional().describe("Working directory (relative paths resolve against the server's working directory)."),
  env: z
    .record(z.string().regex(/^[^=\0]+$/, "an environment variable name must be non-empty, without '=' or NUL"), text)
    .optional()
    .describe("Variables added to the program's environment (onto the minimal safe environment)."),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .max(2_147_483_647)
    .optional()
    .describe("Kill the whole process group (SIGTERM, then SIGKILL) and fail with COMMAND_TIMEOUT after this long."),
  maxOutputBytes: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("Per-stream cap on captured stdout/stderr; output beyond it is discarded and truncated is set."),
  stdin: z.string().optional().describe("Text written to the program's standard input, which is then closed."),
  allowNonZeroExit: z
    .boolean()
    .default(false)
    .describe("Return the result instead of failing with COMMAND_FAILED when the exit code is not 0."),
});

/** Inputs as the executor sees them after validation (defaults applied). */
export type CommandInputs = z.output<typeof commandInputSchema>;
/** Inputs as a task may write them. */
export type CommandInputsInput = z.input<typeof commandInputSchema>;

export const commandResultSchema = z.object({
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean(),
  stdoutBytes: z.number().int().nonnegative(),
  stderrBytes: z.number().int().nonnegative(),
  durationMs: z.number().nonnegative(),
});
