import type { Command } from "commander";
import type { CliContext } from "../../context.js";
import { examples } from "../options.js";
import { registerTaskAnswers } from "./answer.js";
import { registerTaskReads } from "./read.js";
import { registerTaskWatch } from "./watch.js";
import { registerTaskWhy } from "./why.js";
import { registerTaskWrites } from "./write.js";

export function registerTasks(program: Command, ctx: CliContext): void {
  const tasks = program
    .command("tasks")
    .description("inspect and manage tasks (local store, or a server with --server)");
  registerTaskReads(tasks, ctx);
  registerTaskWrites(tasks, ctx);
  registerTaskWatch(tasks, ctx);
  registerTaskWhy(tasks, ctx);
  registerTaskAnswers(tasks, ctx);
  examples(tasks, [
    "apflow tasks list --roots",
    "apflow tasks tree <root-id>",
    "apflow tasks why <pending-task-id>",
    "apflow tasks list --status waiting && apflow tasks resume <id> --approve",
    "apflow tasks copy <failed-task-id> --run",
    "apflow tasks list --server http://localhost:8000 --token $APFLOW_TOKEN",
  ]);
}
