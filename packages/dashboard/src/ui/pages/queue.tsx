import { ErrorState, Facts, Link, Loading, StatusCountsView } from "../components.js";
import { useApp } from "../context.js";
import { formatAgo, formatDuration, formatTime } from "../data/format.js";
import { type QueueTimings, queueTimings } from "../data/queue.js";
import type { Execution, QueueStats, Task } from "../data/types.js";
import { useLoad, useNow } from "../hooks.js";

/**
 * Sections of the queue page that need APIs a server may not offer yet. Each names the JSON-RPC
 * method it reads; when `GET /tasks/methods` lists it, the section shows its answer, otherwise
 * it says what is missing. New APIs (queue control, schedules, nodes) fill in here.
 */
export const PLANNED_SECTIONS = [
  { id: "limits", title: "Limits", method: "queue.limits.list", from: "the queue-control API" },
  { id: "schedules", title: "Schedules", method: "schedules.list", from: "the schedules API" },
  { id: "nodes", title: "Nodes", method: "nodes.list", from: "the multi-node API" },
] as const;

const REFRESH_MS = 3000;
/** Finished tasks the timings are computed from. */
const TIMING_SAMPLE = 500;

export function QueuePage() {
  const { client } = useApp();
  const now = useNow(1000);
  const data = useLoad(
    async (signal) => {
      const [stats, running, oldest, finished, methods] = await Promise.all([
        client.call<QueueStats>("tasks.queue.stats", {}, signal),
        client.call<{ executions: Execution[] }>("tasks.running.list", { limit: 100 }, signal),
        client.call<{ tasks: Task[] }>("tasks.list", { status: "pending", order: "createdAt", limit: 1 }, signal),
        client.call<{ tasks: Task[] }>(
          "tasks.list",
          { status: ["completed", "failed", "cancelled"], limit: TIMING_SAMPLE },
          signal,
        ),
        client.methods(),
      ]);
      const extra = await client.batch(
        PLANNED_SECTIONS.filter((s) => methods.includes(s.method)).map((s) => ({ method: s.method })),
        signal,
      );
      return {
        stats,
        running: running.executions,
        oldest: oldest.tasks[0] ?? null,
        timings: queueTimings(finished.tasks, Date.now()),
        methods,
        extra,
      };
    },
    [],
    REFRESH_MS,
  );
  if (data.error && !data.data) return <ErrorState error={data.error} retry={data.reload} />;
  if (!data.data) return <Loading what="the queue" />;
  const { stats, running, oldest, timings, methods } = data.data;
  const offered = PLANNED_SECTIONS.filter((s) => methods.includes(s.method));
  const engine = stats.engine;
  return (
    <section aria-labelledby="queue-title">
      <div class="page-head">
        <h1 id="queue-title">Queue</h1>
        <span class="live-dot on">
          <span aria-hidden="true">●</span> live
        </span>
      </div>
      <div class="cards">
        <div class="card">
          <h2>Tasks</h2>
          <p class="big">{stats.total}</p>
          <StatusCountsView counts={stats.counts} />
        </div>
        <div class="card">
          <h2>Ready or waiting</h2>
          <p class="big">{stats.counts.pending}</p>
          <p class="muted">
            pending tasks
            {oldest ? (
              <>
                ; oldest since {formatTime(oldest.createdAt)} ({formatAgo(oldest.createdAt, now)})
              </>
            ) : null}
          </p>
        </div>
        <div class="card">
          <h2>Running</h2>
          <p class="big">{stats.counts.in_progress}</p>
          <p class="muted">tasks; {stats.runningExecutions} runs of trees</p>
        </div>
        {engine ? (
          <div class="card">
            <h2>This node's engine</h2>
            <Facts
              items={[
                ["State", engine.running ? "running" : "stopped"],
                ["Busy slots", `${engine.active} of ${engine.concurrency}`],
              ]}
            />
            <progress max={engine.concurrency} value={engine.active} aria-label="busy worker slots" />
          </div>
        ) : null}
      </div>
      <Timings timings={timings} />
      <h2>Runs going on</h2>
      {running.length === 0 ? (
        <p class="muted">No tree is running.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Tree</th>
                <th scope="col">Started</th>
                <th scope="col">Remaining</th>
                <th scope="col">User</th>
              </tr>
            </thead>
            <tbody>
              {running.map((e) => (
                <tr key={e.id}>
                  <td>
                    <Link to={{ page: "tree", rootId: e.rootId, taskId: null }}>{e.rootId.slice(0, 8)}</Link>
                  </td>
                  <td>
                    {formatTime(e.createdAt)} <span class="muted">({formatAgo(e.createdAt, now)})</span>
                  </td>
                  <td>
                    {e.remaining} of {e.total}
                  </td>
                  <td>{e.userId ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {PLANNED_SECTIONS.map((s) => {
        const i = offered.indexOf(s);
        return (
          <section key={s.id} class="planned" aria-labelledby={`q-${s.id}`}>
            <h2 id={`q-${s.id}`}>{s.title}</h2>
            {i < 0 ? (
              <p class="muted">
                This server does not offer {s.title.toLowerCase()} yet (<code>{s.method}</code> comes with {s.from}).
              </p>
            ) : (
              <pre>{JSON.stringify(data.data?.extra[i], null, 2)}</pre>
            )}
          </section>
        );
      })}
    </section>
  );
}

function Timings({ timings: t }: { timings: QueueTimings }) {
  const peak = Math.max(1, ...t.buckets);
  const w = 8;
  const h = 60;
  return (
    <section class="timings" aria-labelledby="q-timings">
      <h2 id="q-timings">
        Throughput and times <span class="muted">(from the {t.samples} most recently created finished tasks)</span>
      </h2>
      <div class="cards">
        <div class="card">
          <h3>Finished per minute</h3>
          <p class="big">{t.perMinute.toFixed(1)}</p>
          <svg
            class="spark"
            width={t.buckets.length * w}
            height={h}
            viewBox={`0 0 ${t.buckets.length * w} ${h}`}
            role="img"
            aria-label={`tasks finished per ${formatDuration(t.bucketMs)} over the last ${formatDuration(t.windowMs)}: ${t.buckets.join(", ")}`}
          >
            <title>Tasks finished per {formatDuration(t.bucketMs)}</title>
            {t.buckets.map((n, i) => (
              <rect key={i} x={i * w + 1} y={h - (n / peak) * h} width={w - 2} height={(n / peak) * h} class="bar" />
            ))}
          </svg>
          <p class="muted">last {formatDuration(t.windowMs)}</p>
        </div>
        <div class="card">
          <h3>Wait (created → started)</h3>
          {t.wait ? (
            <Facts
              items={[
                ["median", formatDuration(t.wait.p50)],
                ["p95", formatDuration(t.wait.p95)],
                ["max", formatDuration(t.wait.max)],
              ]}
            />
          ) : (
            <p class="muted">no finished tasks yet</p>
          )}
        </div>
        <div class="card">
          <h3>Run time (started → finished)</h3>
          {t.run ? (
            <Facts
              items={[
                ["median", formatDuration(t.run.p50)],
                ["p95", formatDuration(t.run.p95)],
                ["max", formatDuration(t.run.max)],
              ]}
            />
          ) : (
            <p class="muted">no finished tasks yet</p>
          )}
        </div>
      </div>
    </section>
  );
}
