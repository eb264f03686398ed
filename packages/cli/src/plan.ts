import type { Task } from "@aipartnerupflow/core";
import type { TaskBackend } from "./backend/types.js";

/** How often `run --plan` looks whether the approval task waits yet. */
const POLL_MS = 100;

/** The approval task a planned tree waits at (api-a2a's plan flow adds exactly one). */
export function approvalOf(tree: readonly Task[]): Task | undefined {
  return tree.find((t) => t.params.executorId === "approval" && t.metadata.plan !== undefined);
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
