import { createInterface } from "node:readline/promises";
import type { Readable, Writable } from "node:stream";
import { checkAnswer, type JsonObject, type JsonValue, type Task, ValidationError } from "@aipartnerupflow/core";
import type { Palette } from "../render/colors.js";

/** Where a prompt reads and writes (the terminal, or streams in tests). */
export interface PromptIo {
  input: Readable;
  output: Writable;
  /** Treat the streams as a terminal (line editing, Ctrl-C as a key). Default: `input.isTTY`. */
  terminal?: boolean;
}

/** Whether a wait's schema is an approval's (`approved: boolean`): `y`/`n` answer it. */
function isApproval(schema: JsonObject | undefined): boolean {
  const props = schema?.properties as JsonObject | undefined;
  return (props?.approved as JsonObject | undefined)?.type === "boolean";
}

/** A typed line as an answer: `y`/`n` for approvals, JSON, or (without a schema) the text itself. */
export function parseAnswerLine(
  line: string,
  schema: JsonObject | undefined,
): { value: JsonValue } | { error: string } {
  const text = line.trim();
  if (isApproval(schema)) {
    if (/^(y|yes)$/i.test(text)) return { value: { approved: true } };
    if (/^(n|no)$/i.test(text)) return { value: { approved: false } };
  }
  try {
    return { value: JSON.parse(text) as JsonValue };
  } catch {
    if (schema === undefined) return { value: text };
    return { error: "not JSON" };
  }
}

/**
 * Ask for the answer of a waiting task on the terminal, re-asking until it matches the wait's
 * schema. Resolves null when the person gives up (Ctrl-C, end of input): the task stays waiting.
 */
export async function promptForAnswer(
  task: Pick<Task, "id" | "name" | "wait">,
  io: PromptIo,
  c: Palette,
): Promise<JsonValue | null> {
  const wait = task.wait;
  if (!wait) return null;
  const rl = createInterface({
    input: io.input,
    output: io.output,
    terminal: io.terminal ?? (io.input as { isTTY?: boolean }).isTTY === true,
  });
  const stop = new AbortController();
  rl.on("SIGINT", () => stop.abort());
  rl.on("close", () => stop.abort());
  const say = (line: string) => io.output.write(`${line}\n`);
  say(`${c.yellow("?")} ${c.bold(task.name)} waits for an answer: ${wait.prompt}`);
  if (isApproval(wait.schema)) say(c.gray("  y to approve, n to reject, or a JSON answer; Ctrl-C leaves it waiting"));
  else if (wait.schema)
    say(c.gray(`  a JSON answer matching ${JSON.stringify(wait.schema)}; Ctrl-C leaves it waiting`));
  else say(c.gray("  JSON or text; Ctrl-C leaves it waiting"));
  try {
    while (!stop.signal.aborted) {
      let line: string;
      try {
        line = await rl.question("> ", { signal: stop.signal });
      } catch {
        return null;
      }
      const parsed = parseAnswerLine(line, wait.schema);
      if ("error" in parsed) {
        say(c.red(`  ${parsed.error}`));
        continue;
      }
      try {
        return checkAnswer(wait, parsed.value);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        for (const issue of err.errors) say(c.red(`  ${issue.path}: ${issue.message}`));
      }
    }
    return null;
  } finally {
    rl.close();
  }
}
