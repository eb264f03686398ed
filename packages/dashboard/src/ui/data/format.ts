import type { TaskStatus } from "./types.js";

export interface StatusLook {
  label: string;
  /** A glyph shown beside the label, so status is never told by colour alone. */
  icon: string;
}

export const STATUS_LOOK: Record<TaskStatus, StatusLook> = {
  pending: { label: "Pending", icon: "○" },
  in_progress: { label: "Running", icon: "▶" },
  waiting: { label: "Waiting for an answer", icon: "◇" },
  completed: { label: "Completed", icon: "✓" },
  failed: { label: "Failed", icon: "✕" },
  cancelled: { label: "Cancelled", icon: "⊘" },
};

/** 850 ms, 12.3 s, 4 m 05 s, 2 h 03 m. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${String(Math.floor(s % 60)).padStart(2, "0")} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${String(m % 60).padStart(2, "0")} m`;
}

/** An ISO time as local date and time, "—" when absent. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** How long ago, "3 s ago". */
export function formatAgo(iso: string | null | undefined, now: number): string {
  if (!iso) return "—";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${formatDuration(Math.max(0, now - t))} ago`;
}

export function formatPercent(fraction: number): string {
  return `${Math.round(Math.max(0, Math.min(1, fraction)) * 100)}%`;
}
