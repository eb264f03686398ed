import { type Task, TaskErrorCode, type TreeOutcome } from "@aipartnerupflow/core";
import type { Palette } from "./colors.js";
import { formatDuration, statusIcon, statusText } from "./format.js";

/**
 * The lines printed after a run: one per tree (status, task counts, wall time), then the tasks
 * that caused a failure (not the ones failed by cascade) and how to re-run only what failed.
 */
export function renderSummary(outcomes: readonly TreeOutcome[], palette: Palette, elapsedMs: number): string[] {
  const c = palette;
  const lines: string[] = [];
  for (const outcome of outcomes) {
    const root = outcome.tasks.find((t) => t.id === outcome.rootId);
    const counts = countStatuses(outcome.tasks);
    lines.push(
      `${statusIcon(outcome.status, c)} ${c.bold(root?.name ?? outcome.rootId)} ${statusText(outcome.status, c)}: ${counts}  ${c.dim(`root ${outcome.rootId}`)}`,
    );
    if (outcome.status === "completed") continue;
    const causes = rootCauses(outcome.tasks);
    for (const t of causes) {
      lines.push(`    ${c.red("✖")} ${c.bold(t.name)} ${c.dim(t.id)}`);
      if (t.error) lines.push(`      ${c.bold(t.error.code)}: ${t.error.message}`);
    }
    const cascaded = outcome.tasks.filter(
      (t) => t.status === "failed" && t.error?.code === TaskErrorCode.DependencyFailed,
    ).length;
    if (cascaded > 0)
      lines.push(
        `    ${c.gray(`${cascaded} dependent task${cascaded === 1 ? "" : "s"} failed because of ${causes.length === 1 ? "it" : "them"}`)}`,
      );
    const only = causes.length === 1 ? causes[0] : undefined;
    lines.push(c.gray("    re-run only what failed, keeping completed results:"));
    if (only) lines.push(c.gray(`      apflow tasks copy ${only.id} --run     (a new tree, linked by originalTaskId)`));
    lines.push(c.gray(`      apflow tasks execute ${outcome.rootId}     (in place)`));
  }
  const total = outcomes.length;
  const ok = outcomes.filter((o) => o.status === "completed").length;
  lines.push(
    `${total === 1 ? "1 tree" : `${total} trees`}: ${ok === total ? c.green(`${ok} completed`) : `${ok} completed, ${c.red(`${total - ok} not completed`)}`} in ${formatDuration(elapsedMs)}`,
  );
  return lines;
}

/** Failed or cancelled tasks whose error is their own, not a dependency's. */
export function rootCauses(tasks: readonly Task[]): Task[] {
  return tasks.filter((t) => t.status === "failed" && t.error?.code !== TaskErrorCode.DependencyFailed);
}

function countStatuses(tasks: readonly Task[]): string {
  const order: Task["status"][] = ["completed", "failed", "cancelled", "in_progress", "waiting", "pending"];
  const counts = new Map<string, number>();
  for (const t of tasks) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
  const parts = order.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`);
  return `${tasks.length} task${tasks.length === 1 ? "" : "s"} (${parts.join(", ")})`;
}
