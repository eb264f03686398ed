import type { NewEvent, TaskEvent } from "../../types.js";
import type { EventQuery } from "../types.js";

/** MemoryStore's event log: every event in `seq` order, and each tree's events by root. */
export class EventLog {
  private readonly events: TaskEvent[] = [];
  private readonly byRoot = new Map<string, TaskEvent[]>();

  /** Number the events and keep them. The NewEvent objects become the stored events. */
  append(newEvents: NewEvent[]): TaskEvent[] {
    const out = newEvents as TaskEvent[];
    for (let i = 0; i < out.length; i++) {
      const event = out[i] as TaskEvent;
      event.seq = this.events.length + 1;
      this.events.push(event);
      let byRoot = this.byRoot.get(event.rootId);
      if (!byRoot) this.byRoot.set(event.rootId, (byRoot = []));
      byRoot.push(event);
    }
    return out;
  }

  read(query: EventQuery): TaskEvent[] {
    const source = query.rootId !== undefined ? (this.byRoot.get(query.rootId) ?? []) : this.events;
    const after = query.afterSeq ?? 0;
    const limit = query.limit ?? 1000;
    const out: TaskEvent[] = [];
    for (let i = firstAfter(source, after); i < source.length && out.length < limit; i++) {
      const e = source[i] as TaskEvent;
      if (query.taskId !== undefined && e.taskId !== query.taskId) continue;
      if (query.executionId !== undefined && e.executionId !== query.executionId) continue;
      out.push({ ...e });
    }
    return out;
  }
}

/** Index of the first event with `seq > after` in an array sorted by seq. */
function firstAfter(events: TaskEvent[], after: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((events[mid] as TaskEvent).seq <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
