import { useEffect, useState } from "preact/hooks";
import { ErrorState, Link, Loading, ProgressBar, StatusBadge, StatusCountsView } from "../components.js";
import { useApp } from "../context.js";
import { formatDuration, formatTime, STATUS_LOOK } from "../data/format.js";
import type { Route } from "../data/route.js";
import { loadTrees } from "../data/trees.js";
import { STATUSES, type TaskStatus } from "../data/types.js";
import { useLoad } from "../hooks.js";

type TreesRoute = Extract<Route, { page: "trees" }>;

const REFRESH_MS = 3000;

export function TreesPage({ route }: { route: TreesRoute }) {
  const { client, navigate } = useApp();
  const trees = useLoad(
    (signal) => loadTrees(client, route, Date.now(), signal),
    [route.status.join(","), route.user, route.q, route.offset],
    REFRESH_MS,
  );
  const set = (patch: Partial<TreesRoute>) => navigate({ ...route, offset: 0, ...patch }, true);
  const filtered = route.status.length > 0 || route.user !== "" || route.q !== "";

  return (
    <section aria-labelledby="trees-title">
      <div class="page-head">
        <h1 id="trees-title">Trees</h1>
        <span class="live-dot" title="refreshes every few seconds">
          <span aria-hidden="true">●</span> live
        </span>
      </div>
      <Filters route={route} onChange={set} />
      {trees.error && !trees.data ? <ErrorState error={trees.error} retry={trees.reload} /> : null}
      {trees.error && trees.data ? (
        <p class="error-text" role="status">
          Could not refresh: {(trees.error as Error).message}
        </p>
      ) : null}
      {!trees.data && !trees.error ? <Loading what="trees" /> : null}
      {trees.data && trees.data.rows.length === 0 ? (
        filtered ? (
          <div class="state">
            <h2>No trees match these filters</h2>
            <button type="button" onClick={() => set({ status: [], user: "", q: "" })}>
              Clear filters
            </button>
          </div>
        ) : (
          <div class="state empty">
            <h2>No trees yet</h2>
            <p>
              No trees yet — run <code>pnpm apflow run examples/hello-world.json</code>
            </p>
          </div>
        )
      ) : null}
      {trees.data && trees.data.rows.length > 0 ? (
        <>
          <div class="table-wrap">
            <table class="trees">
              <caption class="sr-only">Trees, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Tree</th>
                  <th scope="col">Status</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Tasks</th>
                  <th scope="col">User</th>
                  <th scope="col">Started</th>
                  <th scope="col">Finished</th>
                  <th scope="col">Duration</th>
                </tr>
              </thead>
              <tbody>
                {trees.data.rows.map((row) => (
                  <tr key={row.root.id} data-root={row.root.id}>
                    <td>
                      <Link to={{ page: "tree", rootId: row.root.id, taskId: null }}>{row.root.name}</Link>
                      <div class="muted mono">{row.root.id.slice(0, 8)}</div>
                    </td>
                    <td>
                      <StatusBadge status={row.root.status} />
                    </td>
                    <td>
                      <ProgressBar value={row.progress} label={`${row.root.name} progress`} />
                    </td>
                    <td>
                      <span class="muted">{row.total}</span> <StatusCountsView counts={row.counts} />
                    </td>
                    <td>{row.root.userId ?? <span class="muted">—</span>}</td>
                    <td>{formatTime(row.startedAt)}</td>
                    <td>{formatTime(row.finishedAt)}</td>
                    <td>{formatDuration(row.durationMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <Pager
            offset={trees.data.offset}
            size={trees.data.pageSize}
            total={trees.data.total}
            shown={trees.data.rows.length}
            onPage={(offset) => navigate({ ...route, offset })}
          />
        </>
      ) : null}
    </section>
  );
}

function Filters({ route, onChange }: { route: TreesRoute; onChange(patch: Partial<TreesRoute>): void }) {
  const [q, setQ] = useState(route.q);
  const [user, setUser] = useState(route.user);
  useEffect(() => setQ(route.q), [route.q]);
  useEffect(() => setUser(route.user), [route.user]);
  // Typing settles for a moment before the URL (and the list) follows.
  useEffect(() => {
    if (q === route.q && user === route.user) return;
    const t = setTimeout(() => onChange({ q, user }), 300);
    return () => clearTimeout(t);
  }, [q, user]);
  const toggle = (s: TaskStatus) =>
    onChange({ status: route.status.includes(s) ? route.status.filter((x) => x !== s) : [...route.status, s] });
  return (
    <form class="filters" aria-label="Filter trees" onSubmit={(e) => e.preventDefault()}>
      <fieldset class="status-filter">
        <legend>Status</legend>
        {STATUSES.map((s) => (
          <button
            type="button"
            key={s}
            class={`chip status-${s}`}
            aria-pressed={route.status.includes(s)}
            onClick={() => toggle(s)}
          >
            <span aria-hidden="true">{STATUS_LOOK[s].icon}</span> {STATUS_LOOK[s].label}
          </button>
        ))}
      </fieldset>
      <label>
        User
        <input
          type="search"
          name="user"
          value={user}
          placeholder="user id (admins)"
          onInput={(e) => setUser((e.target as HTMLInputElement).value)}
        />
      </label>
      <label>
        Search
        <input
          type="search"
          name="q"
          value={q}
          placeholder="name or id"
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
        />
      </label>
    </form>
  );
}

function Pager(props: { offset: number; size: number; total: number; shown: number; onPage(offset: number): void }) {
  const { offset, size, total, shown } = props;
  return (
    <nav class="pager" aria-label="Pages of trees">
      <button type="button" disabled={offset === 0} onClick={() => props.onPage(Math.max(0, offset - size))}>
        ← Newer
      </button>
      <span>
        {offset + 1}–{offset + shown} of {total}
      </span>
      <button type="button" disabled={offset + shown >= total} onClick={() => props.onPage(offset + size)}>
        Older →
      </button>
    </nav>
  );
}
