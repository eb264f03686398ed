import type { AttemptRecord, QueueGroupStats, Waiting } from "@aipartnerupflow/core";
import type { QueueReport } from "../backend/types.js";
import type { Palette } from "./colors.js";
import { formatDuration, formatTime, statusText } from "./format.js";
import { renderTable } from "./table.js";

/** `dependencies since 2030-01-01 00:00:00Z (3.2s): waiting for 1 dependency: fetch (in_progress)` */
export function waitingLine(w: Waiting, c: Palette, now: number = Date.now()): string {
  const age = formatDuration(now - Date.parse(w.since));
  return `${c.yellow(w.reason)} ${c.gray(`since ${formatTime(w.since)}${age ? ` (${age})` : ""}`)}: ${w.detail}`;
}

/** The attempt history as a table: attempt, status, owner, start, end, error. */
export function attemptTable(attempts: readonly AttemptRecord[], c: Palette): string[] {
  return renderTable(
    ["ATTEMPT", "STATUS", "OWNER", "START", "END", "ERROR"],
    attempts.map((a) => [
      String(a.attempt),
      statusText(a.status, c),
      a.owner ?? "-",
      formatTime(a.startedAt),
      a.endedAt ? formatTime(a.endedAt) : "-",
      a.error ? `${a.error.code}: ${a.error.message}` : "",
    ]),
  );
}

const age = (g: QueueGroupStats) => (g.ready > 0 ? formatDuration(g.oldestReadyAgeMs) || "0ms" : "-");

/** `apflow queue stats`: counts by status, the ready queue overall, per user and per executor. */
export function queueReport(report: QueueReport, c: Palette): string[] {
  const lines: string[] = [];
  lines.push(c.bold("tasks"));
  lines.push(
    ...renderTable(
      ["STATUS", "COUNT"],
      [
        ...Object.entries(report.counts).map(([s, n]) => [statusText(s as never, c), String(n)]),
        [c.bold("total"), String(report.total)],
      ],
    ),
  );
  const q = report.queue;
  lines.push("", c.bold("ready queue"));
  if (!q) lines.push(c.gray("this store does not report its ready queue"));
  else {
    lines.push(
      `ready ${q.ready}, oldest ready ${age(q)}${q.oldestReadySince ? ` (since ${formatTime(q.oldestReadySince)})` : ""}, delayed ${q.delayed}`,
    );
    if (q.byUser.length > 0) {
      lines.push(
        "",
        ...renderTable(
          ["USER", "READY", "OLDEST"],
          q.byUser.map((g) => [g.userId ?? "-", String(g.ready), age(g)]),
        ),
      );
    }
    if (q.byExecutor.length > 0) {
      lines.push(
        "",
        ...renderTable(
          ["EXECUTOR", "READY", "OLDEST"],
          q.byExecutor.map((g) => [g.executorId ?? "(grouping)", String(g.ready), age(g)]),
        ),
      );
    }
    if (q.truncated) lines.push(c.gray("(breakdowns cut to the groups waiting longest)"));
    // Older servers do not send it.
    const blocked = q.limitBlocked ?? [];
    if (blocked.length > 0) {
      lines.push(
        "",
        ...renderTable(
          ["LIMIT", "KEY", "HOLDS BACK"],
          blocked.map((g) => [g.scope, g.key ?? "(default)", String(g.blocked)]),
        ),
      );
    }
  }
  if (report.events) {
    lines.push("", c.bold("since the server started"));
    lines.push(
      ...renderTable(
        ["EVENT", "COUNT"],
        Object.entries(report.events).map(([k, n]) => [k, String(n)]),
      ),
    );
    const durations = new Map<string, { wait?: string; run?: string }>();
    const mean = (d: { count: number; sumMs: number }) => formatDuration(d.count > 0 ? d.sumMs / d.count : 0);
    for (const d of report.waitTime ?? []) durations.set(d.executorId ?? "(grouping)", { wait: mean(d) });
    for (const d of report.runTime ?? []) {
      const key = d.executorId ?? "(grouping)";
      durations.set(key, { ...durations.get(key), run: mean(d) });
    }
    if (durations.size > 0) {
      lines.push(
        "",
        ...renderTable(
          ["EXECUTOR", "MEAN WAIT", "MEAN RUN"],
          [...durations].map(([k, v]) => [k, v.wait ?? "-", v.run ?? "-"]),
        ),
      );
    }
  }
  return lines;
}
