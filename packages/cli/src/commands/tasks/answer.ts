import type { Writable } from "node:stream";
import type { JsonValue } from "@aipartnerupflow/core";
import type { Command } from "commander";
import type { CliContext } from "../../context.js";
import { usageError } from "../../errors.js";
import { followExecutions } from "../../execution.js";
import { examples, jsonOption } from "../options.js";
import { withBackend } from "./shared.js";

interface ResumeOptions {
  input?: string;
  approve?: boolean;
  reject?: boolean;
  comment?: string;
  follow?: boolean;
  live?: boolean;
  json?: boolean;
}

function parseJson(text: string, option: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw usageError(`${option} must be JSON: ${(err as Error).message}`);
  }
}

/** The answer the options describe: `--input JSON`, or `--approve` / `--reject` with `--comment`. */
export function answerOf(options: ResumeOptions): JsonValue {
  const picked = [options.input !== undefined, options.approve === true, options.reject === true].filter(Boolean);
  if (picked.length !== 1) throw usageError("give exactly one of --input <json>, --approve, --reject");
  if (options.input !== undefined) return parseJson(options.input, "--input");
  return { approved: options.approve === true, ...(options.comment !== undefined ? { comment: options.comment } : {}) };
}

/** `apflow tasks resume` and `apflow tasks signal` (docs/semantics.md#waiting). */
export function registerTaskAnswers(tasks: Command, ctx: CliContext): void {
  const resume = jsonOption(
    tasks
      .command("resume")
      .description("answer a task that waits (an approval, an input); its tree goes on")
      .argument("<id>", "the waiting task")
      .option("--input <json>", "the answer, checked against the task's schema")
      .option("--approve", 'an approval: {"approved": true}')
      .option("--reject", 'an approval: {"approved": false}')
      .option("--comment <text>", "with --approve or --reject")
      .option("--no-follow", "local store: do not run the rest of the tree here")
      .option("--no-live", "print only the summary of the rest of the run"),
  ).action(
    withBackend(ctx, async (backend, opts: ResumeOptions, command, id: string) => {
      const { task, resumed } = await backend.resume(id, answerOf(opts));
      if (opts.json && (backend.mode === "remote" || opts.follow === false || !resumed))
        return ctx.json({ task, resumed });
      const c = ctx.palette(command);
      if (!resumed) {
        const wait = task.wait;
        ctx.out(`answer recorded for ${task.name}: ${wait?.answers.length ?? 0} of ${wait?.required ?? 1} answers`);
        return;
      }
      if (!opts.json) ctx.out(`${c.bold(task.name)} resumed`);
      // Remote: the server runs the rest. Local: this process runs it (the run that asked may be gone).
      if (backend.mode === "remote" || opts.follow === false) return;
      const running = await backend.running(id);
      if (running.length === 0) return;
      const terminal = (ctx.io.stdin as { isTTY?: boolean }).isTTY === true && ctx.io.stdout.isTTY === true;
      ctx.exitCode = await followExecutions(ctx, backend, running, {
        json: opts.json ?? false,
        palette: c,
        live: opts.live ?? true,
        ...(terminal && !opts.json
          ? { prompt: { input: ctx.io.stdin, output: ctx.io.stdout as unknown as Writable } }
          : {}),
      });
    }),
  );
  examples(resume, [
    "apflow tasks list --status waiting",
    "apflow tasks resume <id> --approve --comment 'looks right'",
    `apflow tasks resume <id> --input '{"approved": true, "amount": 120}'`,
    `apflow tasks resume <id> --input '"draft 2"' --server http://localhost:8000`,
  ]);

  const signal = jsonOption(
    tasks
      .command("signal")
      .description("send a named event: every task waiting for it (with the same --key) resumes")
      .argument("<event>", "the event name")
      .option("--key <key>", "only tasks waiting with this key")
      .option("--payload <json>", "the answer given to each task", "null"),
  ).action(
    withBackend(
      ctx,
      async (backend, opts: { key?: string; payload: string; json?: boolean }, _command, event: string) => {
        const result = await backend.signal(event, opts.key ?? null, parseJson(opts.payload, "--payload"));
        if (opts.json) return ctx.json(result);
        ctx.out(`${result.resumed.length} task${result.resumed.length === 1 ? "" : "s"} answered`);
      },
    ),
  );
  examples(signal, ['apflow tasks signal ticket.closed --key T-1 --payload \'{"state": "done"}\'']);
}
