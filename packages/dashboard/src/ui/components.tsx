import type { ComponentChildren, TargetedMouseEvent } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { useApp } from "./context.js";
import { STATUS_LOOK } from "./data/format.js";
import type { Route } from "./data/route.js";
import { AuthRequiredError, RpcError, UnreachableError } from "./data/rpc.js";
import type { StatusCounts, TaskStatus } from "./data/types.js";
import { STATUSES } from "./data/types.js";

/** A link to a page of the dashboard, followed without reloading (modifier clicks open normally). */
export function Link(props: {
  to: Route;
  replace?: boolean;
  children: ComponentChildren;
  class?: string;
  "aria-current"?: "page" | undefined;
  title?: string;
}) {
  const { navigate, href } = useApp();
  const url = href(props.to);
  const onClick = (e: TargetedMouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.to, props.replace);
  };
  return (
    <a href={url} onClick={onClick} class={props.class} aria-current={props["aria-current"]} title={props.title}>
      {props.children}
    </a>
  );
}

/** Status shown by colour, icon and word (never colour alone). */
export function StatusBadge({ status, compact }: { status: TaskStatus; compact?: boolean }) {
  const look = STATUS_LOOK[status];
  return (
    <span class={`badge status-${status}`} data-status={status} title={look.label}>
      <span class="badge-icon" aria-hidden="true">
        {look.icon}
      </span>
      {compact ? <span class="sr-only">{look.label}</span> : <span>{look.label}</span>}
    </span>
  );
}

export function StatusCountsView({ counts }: { counts: StatusCounts }) {
  return (
    <span class="counts">
      {STATUSES.filter((s) => counts[s] > 0).map((s) => (
        <span class={`count status-${s}`} key={s} title={`${counts[s]} ${STATUS_LOOK[s].label.toLowerCase()}`}>
          <span aria-hidden="true">{STATUS_LOOK[s].icon}</span> {counts[s]}
          <span class="sr-only"> {STATUS_LOOK[s].label}</span>
        </span>
      ))}
    </span>
  );
}

export function ProgressBar({ value, label }: { value: number; label: string }) {
  const pct = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <span class="progress">
      <progress max={100} value={pct} aria-label={label} />
      <span class="progress-text">{pct}%</span>
    </span>
  );
}

const JSON_LIMIT = 20_000;

/** A JSON value as indented text; long ones folded behind a button. */
export function JsonView({ value, label }: { value: unknown; label: string }) {
  const [all, setAll] = useState(false);
  if (value === undefined) return <p class="muted">none</p>;
  const text = JSON.stringify(value, null, 2) ?? "null";
  const long = text.length > JSON_LIMIT && !all;
  return (
    <div class="json">
      <pre title={label}>{long ? `${text.slice(0, JSON_LIMIT)}\n…` : text}</pre>
      {long ? (
        <button type="button" class="link-button" onClick={() => setAll(true)}>
          show all {Math.round(text.length / 1024)} KB
        </button>
      ) : null}
    </div>
  );
}

/** A question before an action; the native modal dialog keeps focus inside and closes on Escape. */
export function ConfirmDialog(props: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: string | null;
  onConfirm(): void;
  onClose(): void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.open && d.close();
  }, []);
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby="dialog-title"
      onClose={props.onClose}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          props.onConfirm();
        }}
      >
        <h2 id="dialog-title">{props.title}</h2>
        <div class="dialog-body">{props.children}</div>
        {props.error ? (
          <p class="error-text" role="alert">
            {props.error}
          </p>
        ) : null}
        <div class="dialog-actions">
          <button type="button" onClick={props.onClose} disabled={props.busy}>
            Keep as is
          </button>
          <button type="submit" class={props.danger ? "danger" : "primary"} disabled={props.busy} autofocus>
            {props.busy ? "Working…" : props.confirmLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** What went wrong, in words, with a way to try again. */
export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  let title = "Something went wrong";
  let detail = error instanceof Error ? error.message : String(error);
  if (error instanceof UnreachableError) {
    title = "The server is unreachable";
    detail = `${detail}. Is it running? Start it with \`pnpm start\` or \`apflow serve\`.`;
  } else if (error instanceof RpcError) {
    title = error.code === -32001 ? "Not found" : "The server refused the request";
    detail = `${error.message} (code ${error.code})`;
  } else if (error instanceof AuthRequiredError) {
    title = "Sign-in needed";
  }
  return (
    <div class="state state-error" role="alert">
      <h2>{title}</h2>
      <p>{detail}</p>
      {retry ? (
        <button type="button" onClick={retry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="state muted" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** A small description list: label, value. */
export function Facts({ items }: { items: Array<[string, ComponentChildren]> }) {
  return (
    <dl class="facts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
