import type { Execution, TaskStatus } from "../../types.js";
import { countsAsProblem, executionFinalStatus } from "../rules.js";

interface ExecutionRow {
  execution: Execution;
  /** Tasks of the execution that ended without completing. */
  problems: number;
}

/** MemoryStore's executions: each with its accounting, and the one running per tree. */
export class Executions {
  private readonly byId = new Map<string, ExecutionRow>();
  private readonly runningByRoot = new Map<string, string>();
  /** The last execution looked up: a tree's tasks ask for the same one over and over. Rows are never replaced. */
  private lastId: string | null = null;
  private last: ExecutionRow | undefined;

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): Execution | undefined {
    return this.rowOf(id)?.execution;
  }

  private rowOf(id: string): ExecutionRow | undefined {
    if (id === this.lastId) return this.last;
    const row = this.byId.get(id);
    if (row !== undefined) {
      this.lastId = id;
      this.last = row;
    }
    return row;
  }

  /** The running execution of a tree. */
  runningOf(rootId: string): string | undefined {
    return this.runningByRoot.get(rootId);
  }

  isRunning(id: string): boolean {
    return this.rowOf(id)?.execution.status === "running";
  }

  /** Record a new execution; `queued` false when its run set is empty (it is finished at once). */
  open(execution: Execution, queued: boolean, at: string): Execution | undefined {
    const row: ExecutionRow = { execution, problems: 0 };
    this.byId.set(execution.id, row);
    if (this.lastId === execution.id) this.last = row;
    if (!queued) return this.finish(row, at);
    this.runningByRoot.set(execution.rootId, execution.id);
    return undefined;
  }

  /** Mark a running execution as cancelled by request (it will end `cancelled`). */
  requestCancel(executionId: string): void {
    const row = this.byId.get(executionId);
    if (row?.execution.status === "running") row.execution.cancelRequested = true;
  }

  /** Count a task that became terminal; returns the execution when that finished it. */
  countTerminal(executionId: string | null, status: TaskStatus, at: string): Execution | undefined {
    if (executionId === null) return undefined;
    const row = this.rowOf(executionId);
    if (row?.execution.status !== "running") return undefined;
    if (countsAsProblem(status)) row.problems++;
    row.execution.remaining--;
    return row.execution.remaining === 0 ? this.finish(row, at) : undefined;
  }

  list(query: { rootId?: string; status?: Execution["status"]; limit?: number }): Execution[] {
    const out: Execution[] = [];
    for (const { execution } of this.byId.values()) {
      if (query.rootId !== undefined && execution.rootId !== query.rootId) continue;
      if (query.status !== undefined && execution.status !== query.status) continue;
      out.push({ ...execution });
    }
    return out.slice(-(query.limit ?? 100));
  }

  private finish(row: ExecutionRow, at: string): Execution {
    const { execution } = row;
    execution.status = executionFinalStatus(execution.cancelRequested, row.problems);
    execution.finishedAt = at;
    if (this.runningByRoot.get(execution.rootId) === execution.id) this.runningByRoot.delete(execution.rootId);
    return { ...execution };
  }
}
