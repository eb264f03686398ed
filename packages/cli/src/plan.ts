import { createInterface } from "node:readline/promises";
import type { Readable } from "node:stream";
import type { Task } from "@aipartnerupflow/core";
import type { TaskBackend } from "./backend/types.js";
import type { OutStream } from "./io.js";

/** How often `run --plan` looks whether the approval task waits yet. */
const POLL_MS = 100;

/** The approval task a planned tree waits at (api-a2a's plan flow adds exactly one). */
export function approvalOf(tree: readonly Task[]): Task | undefined {
  return tree.find((t) => t.params.executorId === "approval" && t.metadata.plan !== undefined);
}

/**
 * Ask on a terminal whether to run the plan: y/yes approves, anything else (or end of input)
 * rejects. Written to `out` (stderr, so `--json` output stays pure).
 */
export async function confirmPlan(input: Readable, out: OutStream, prompt: string): Promise<boolean> {
  out.write(`${prompt}\n`);
  const rl = createInterface({ input, output: out as unknown as NodeJS.WritableStream, terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once("close", () => resolve(""));
      void rl.question("Run it? [y/N] ").then(resolve, () => resolve(""));
    });
    return /^\s*(y|yes)\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}

/** Answer the plan's approval once it waits (the tree was just executed). */
export async function answerApproval(backend: TaskBackend, approvalId: string, approved: boolean): Promise<void> {
  for (;;) {
    const task = await backend.get(approvalId);
    if (task.status === "waiting") break;
    // Answered elsewhere, cancelled, or failed: nothing to answer.
    if (task.status !== "pending" && task.status !== "in_progress") return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  await backend.resume(
    approvalId,
    approved ? { approved: true } : { approved: false, comment: "rejected from the CLI" },
  );
}
