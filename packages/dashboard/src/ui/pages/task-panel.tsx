import { ErrorState, Facts, JsonView, Link, StatusBadge } from "../components.js";
import { useApp } from "../context.js";
import { STATUS_LOOK, formatAgo, formatDuration, formatPercent, formatTime } from "../data/format.js";
import { TERMINAL, type TreeModel, executorOf, taskDurationMs, waitingReason } from "../data/tree-model.js";
import type { Task, TaskDetail, TaskEvent } from "../data/types.js";
import { useLoad } from "../hooks.js";
import type { Action } from "./tree.js";

const EVENTS_SHOWN = 100;

export function TaskPanel(props: {
  task: Task;
  model: TreeModel;
  live: boolean;
  now: number;
  events: TaskEvent[];
  onAction(a: Action): void;
  onClose(): void;
}) {
  const { task: t, model, now } = props;
  const { client } = useApp();
  // Attempts come from tasks.detail, read again whenever the task changes.
  const detail = useLoad(
    (signal) => client.call<TaskDetail>("tasks.detail", { taskId: t.id }, signal),
    [t.id, t.status, t.attempt, t.updatedAt],
  );
  const executor = executorOf(t);
  const waiting = waitingReason(t, model, props.live, now);
  const mine = props.events.filter((e) => e.taskId === t.id);
  const shown = mine.slice(-EVENTS_SHOWN).reverse();
  const parent = t.parentId ? model.tasks.get(t.parentId) : undefined;
  const deps = t.dependencies.map((d) => ({ d, task: model.tasks.get(d.id) }));

  return (
    <aside class="panel" aria-labelledby="panel-title" data-task-id={t.id}>
      <div class="panel-head">
        <h2 id="panel-title">{t.name}</h2>
        <button type="button" class="link-button" onClick={props.onClose} aria-label="Close task panel">
          ✕
        </button>
      </div>
      <StatusBadge status={t.status} />
      <Facts
        items={[
          ["Id", <span class="mono">{t.id}</span>],
          [
            "Executor",
            executor ? <Link to={{ page: "executors", id: executor }}>{executor}</Link> : "none (grouping task)",
          ],
          ["Progress", formatPercent(t.progress)],
          ["Duration", formatDuration(taskDurationMs(t, now))],
          ["Started", formatTime(t.startedAt)],
          ["Finished", formatTime(t.completedAt)],
          ["Attempt", String(t.attempt)],
          ["Parent", parent ? parent.name : "—"],
        ]}
      />
      {waiting ? (
        <p class={`waiting waiting-${waiting.kind}`}>
          <strong>Waiting:</strong> {waiting.text} — since {formatTime(waiting.since)} ({formatAgo(waiting.since, now)})
        </p>
      ) : null}
      <div class="actions">
        <button
          type="button"
          class="danger"
          disabled={TERMINAL.has(t.status)}
          onClick={() => props.onAction({ kind: "cancel", taskId: t.id, tree: false })}
        >
          Cancel task
        </button>
        <button type="button" onClick={() => props.onAction({ kind: "copy", taskId: t.id })}>
          Copy and run…
        </button>
      </div>
      {t.error ? (
        <section class="task-error" aria-label="Error">
          <h3>Error</h3>
          <p>
            <code>{t.error.code}</code> {t.error.message}
          </p>
          {t.error.details !== undefined ? <JsonView value={t.error.details} label="error details" /> : null}
        </section>
      ) : null}
      {deps.length > 0 ? (
        <section>
          <h3>Dependencies</h3>
          <ul class="deps">
            {deps.map(({ d, task }) => (
              <li key={d.id}>
                {task ? <StatusBadge status={task.status} compact /> : null}{" "}
                <Link to={{ page: "tree", rootId: model.rootId, taskId: d.id }} replace>
                  {task?.name ?? d.id}
                </Link>{" "}
                <span class="muted">{d.required ? "required" : "optional"}</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section>
        <h3>Inputs</h3>
        <JsonView value={t.inputs} label="inputs" />
      </section>
      <section>
        <h3>Params</h3>
        <JsonView value={t.params} label="params" />
      </section>
      <section>
        <h3>Result</h3>
        {t.result === null ? <p class="muted">none yet</p> : <JsonView value={t.result} label="result" />}
      </section>
      <section aria-label="Attempts">
        <h3>Attempts</h3>
        {detail.error ? <ErrorState error={detail.error} retry={detail.reload} /> : null}
        {detail.data && detail.data.attempts.length === 0 ? <p class="muted">not run yet</p> : null}
        {detail.data && detail.data.attempts.length > 0 ? (
          <div class="table-wrap">
            <table class="attempts">
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Status</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Started</th>
                  <th scope="col">Ended</th>
                  <th scope="col">Error</th>
                </tr>
              </thead>
              <tbody>
                {detail.data.attempts.map((a) => (
                  <tr key={`${a.attempt}-${a.startedAt}`}>
                    <td>{a.attempt}</td>
                    <td>
                      <StatusBadge status={a.status} />
                    </td>
                    <td class="mono">{a.owner ?? "—"}</td>
                    <td>{formatTime(a.startedAt)}</td>
                    <td>{formatTime(a.endedAt)}</td>
                    <td>{a.error ? `${a.error.code}: ${a.error.message}` : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      <section aria-label="Events">
        <h3>
          Events <span class="muted">({mine.length})</span>
        </h3>
        {shown.length === 0 ? <p class="muted">none</p> : null}
        <ol class="events" reversed>
          {shown.map((e) => (
            <li key={e.seq}>
              <span class="mono muted">#{e.seq}</span> <span class="mono">{formatTime(e.at)}</span> {e.type}{" "}
              <span class={`status-text status-${e.status}`}>
                {STATUS_LOOK[e.status].icon} {STATUS_LOOK[e.status].label}
              </span>
              {e.error ? <span class="error-text"> {e.error.message}</span> : null}
              {e.message ? <span class="muted"> {e.message}</span> : null}
            </li>
          ))}
        </ol>
      </section>
    </aside>
  );
}
