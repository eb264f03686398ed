import type { Command } from "commander";
import type { CliContext } from "../../context.js";
import { statusText } from "../../render/format.js";
import { waitingLine } from "../../render/waiting.js";
import { examples, jsonOption } from "../options.js";
import { withBackend } from "./shared.js";

/** `apflow tasks why <id>`: why a pending task has not started, and since when. */
export function registerTaskWhy(tasks: Command, ctx: CliContext): void {
  const why = jsonOption(
    tasks
      .command("why")
      .description("why a pending task has not started yet, and since when")
      .argument("<id>", "task id"),
  ).action(
    withBackend(ctx, async (backend, opts: { json?: boolean }, command, id: string) => {
      const { task, waiting } = await backend.inspect(id);
      if (opts.json) return ctx.json({ taskId: task.id, status: task.status, waiting });
      const c = ctx.palette(command);
      if (!waiting) return ctx.out(`${c.bold(task.name)} is ${statusText(task.status, c)}: it is not waiting`);
      ctx.out(`${c.bold(task.name)} is waiting: ${waitingLine(waiting, c)}`);
      if (waiting.reason === "dependencies") {
        for (const d of waiting.dependencies)
          ctx.out(`  ${d.name ?? d.id}  ${d.status}${d.required ? "" : " (optional)"}  ${c.dim(d.id)}`);
      }
      if (waiting.reason === "not_executing") ctx.out(c.gray(`  run it with: apflow tasks execute ${task.rootId}`));
      if (waiting.reason === "input")
        ctx.out(c.gray(`  answer it with: apflow tasks resume ${task.id} --input '<json>'`));
      if (waiting.reason === "event") {
        const key = waiting.key === null ? "" : ` --key ${waiting.key}`;
        ctx.out(c.gray(`  answer it with: apflow tasks signal ${waiting.event}${key} --payload '<json>'`));
      }
    }),
  );
  examples(why, ["apflow tasks why <task-id>", "apflow tasks why <task-id> --json"]);
}
