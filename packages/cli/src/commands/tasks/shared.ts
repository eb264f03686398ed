import type { Command } from "commander";
import type { StartedExecution, TaskBackend } from "../../backend/types.js";
import type { CliContext } from "../../context.js";

/**
 * Wrap a commander action: open the backend (local store or server), run, always close it.
 * The handler gets the backend, the command's options, the command, then the arguments.
 */
export function withBackend<O, A extends unknown[]>(
  ctx: CliContext,
  handler: (backend: TaskBackend, options: O, command: Command, ...args: A) => Promise<void>,
): (...params: unknown[]) => Promise<void> {
  return async (...params: unknown[]) => {
    const command = params[params.length - 1] as Command;
    const options = params[params.length - 2] as O;
    const args = params.slice(0, -2) as A;
    const backend = await ctx.backend(command);
    try {
      await handler(backend, options, command, ...args);
    } finally {
      await backend.close();
    }
  };
}

/** What the CLI says when it took over an execution whose process was gone. */
export function resumedNote(execution: StartedExecution): string {
  return `resuming execution ${execution.executionId}: the process running it is gone (its running tasks restart once their leases expire)`;
}
