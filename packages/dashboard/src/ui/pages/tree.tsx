import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { ConfirmDialog, ErrorState, Link, Loading, ProgressBar, StatusBadge, StatusCountsView } from "../components.js";
import { useApp } from "../context.js";
import { TreeFollower } from "../data/follow.js";
import type { Layout } from "../data/layout.js";
import { treesRoute } from "../data/route.js";
import { AuthRequiredError } from "../data/rpc.js";
import { TERMINAL, type TreeModel, applyEvents, buildTree, countByStatus, treeProgress } from "../data/tree-model.js";
import type { Task, TaskEvent } from "../data/types.js";
import { useNow } from "../hooks.js";
import { layoutAsync } from "../layout-client.js";
import { Graph } from "./graph.js";
import { TaskPanel } from "./task-panel.js";

const MAX_EVENTS = 20_000;

export type Action =
  | { kind: "cancel"; taskId: string; tree: boolean }
  | { kind: "rerun"; taskId: string }
  | { kind: "copy"; taskId: string };

export function TreePage({ rootId, taskId }: { rootId: string; taskId: string | null }) {
  const { client, navigate, report, authVersion, config } = useApp();
  const [model, setModel] = useState<TreeModel | null>(null);
  const [events, setEvents] = useState<TaskEvent[]>([]);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [layout, setLayout] = useState<Layout | null>(null);
  const [action, setAction] = useState<Action | null>(null);
  const follower = useRef<TreeFollower | null>(null);
  const marked = useRef(false);
  const now = useNow(1000);

  useEffect(() => {
    marked.current = false;
    const f = new TreeFollower(client, rootId, {
      onTree: (tasks) => {
        if (!marked.current) performance.mark("apflow:tree-data");
        setModel(buildTree(tasks));
        setError(null);
      },
      onEvents: (batch, history) => {
        setEvents((prev) => {
          const all =
            prev.length + batch.length > MAX_EVENTS ? [...prev, ...batch].slice(-MAX_EVENTS) : [...prev, ...batch];
          return all;
        });
        if (!history) setModel((m) => (m ? applyEvents(m, batch).model : m));
      },
      onLive: setLive,
      onError: (err) => {
        if (err instanceof AuthRequiredError) report(err);
        else setError(err);
      },
    });
    follower.current = f;
    void f.run();
    return () => f.stop();
  }, [client, rootId, authVersion, report]);

  const structure = model?.structureKey;
  useEffect(() => {
    if (!model) return;
    let cancelled = false;
    const tasks = model.order.map((id) => model.tasks.get(id) as Task);
    layoutAsync(config.basePath, tasks).then((l) => {
      if (cancelled) return;
      setLayout(l);
      if (!marked.current) {
        marked.current = true;
        // Two frames later the graph has been drawn: that is when the page shows the tree.
        requestAnimationFrame(() =>
          requestAnimationFrame(() => {
            performance.mark("apflow:tree-painted");
            performance.measure("apflow:tree-ready", "apflow:tree-data", "apflow:tree-painted");
            performance.measure(`apflow:tree-layout:${Math.round(l.ms)}`, { start: 0, duration: l.ms });
            document.body.dataset.treeReady = String(l.nodes.length);
          }),
        );
      }
    });
    return () => {
      cancelled = true;
    };
  }, [structure, config.basePath]);

  const select = useCallback((id: string) => navigate({ page: "tree", rootId, taskId: id }, true), [navigate, rootId]);

  const counts = useMemo(() => (model ? countByStatus(model.tasks.values()) : null), [model]);
  if (error && !model) return <ErrorState error={error} retry={() => location.reload()} />;
  if (!model || !counts) return <Loading what="the tree" />;
  const root = model.tasks.get(model.rootId) ?? (model.tasks.get(model.order[0] as string) as Task);
  const selected = taskId ? (model.tasks.get(taskId) ?? null) : null;
  const unfinished = counts.pending + counts.in_progress + counts.waiting > 0;
  const failed = counts.failed + counts.cancelled > 0;

  return (
    <section class="tree-page" aria-labelledby="tree-title">
      <div class="page-head">
        <Link to={treesRoute()} class="back">
          ← Trees
        </Link>
        <h1 id="tree-title">{root.name}</h1>
        <StatusBadge status={root.status} />
        <span class={live ? "live-dot on" : "live-dot"} aria-live="polite">
          <span aria-hidden="true">●</span> {live ? "live: a run is going on" : "idle"}
        </span>
      </div>
      <div class="tree-summary">
        <ProgressBar value={treeProgress(counts)} label="tree progress" />
        <span>{model.tasks.size} tasks</span>
        <StatusCountsView counts={counts} />
        <span class="spacer" />
        <div class="actions">
          <button
            type="button"
            class="danger"
            disabled={!unfinished}
            onClick={() => setAction({ kind: "cancel", taskId: root.id, tree: true })}
          >
            Cancel tree
          </button>
          <button
            type="button"
            disabled={!failed || live}
            onClick={() => setAction({ kind: "rerun", taskId: root.id })}
          >
            Re-run failed
          </button>
          <button type="button" onClick={() => setAction({ kind: "copy", taskId: root.id })}>
            Copy and run…
          </button>
        </div>
      </div>
      {error ? (
        <p class="error-text" role="status">
          Lost the live connection ({(error as Error).message}); retrying.
        </p>
      ) : null}
      <div class={selected ? "tree-body with-panel" : "tree-body"}>
        {layout ? (
          <Graph layout={layout} tasks={model.tasks} selected={taskId} now={now} onSelect={select} />
        ) : (
          <Loading what={`the layout of ${model.tasks.size} tasks`} />
        )}
        {selected ? (
          <TaskPanel
            task={selected}
            model={model}
            live={live}
            now={now}
            events={events}
            onAction={setAction}
            onClose={() => navigate({ page: "tree", rootId, taskId: null }, true)}
          />
        ) : (
          <p class="muted panel-hint">Select a task to see its inputs, result, error, attempts and events.</p>
        )}
      </div>
      {action ? (
        <ActionDialog
          action={action}
          task={model.tasks.get(action.taskId) ?? root}
          onClose={() => setAction(null)}
          onDone={async (newRoot) => {
            setAction(null);
            if (newRoot) navigate({ page: "tree", rootId: newRoot, taskId: null });
            else await follower.current?.refresh().catch(() => undefined);
          }}
        />
      ) : null}
    </section>
  );
}

function ActionDialog(props: { action: Action; task: Task; onClose(): void; onDone(newRoot?: string): void }) {
  const { client } = useApp();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [mode, setMode] = useState<"minimal" | "full">("minimal");
  const { action, task } = props;
  const run = async () => {
    setBusy(true);
    setProblem(null);
    try {
      if (action.kind === "cancel") {
        await client.call("tasks.cancel", { taskId: action.taskId, reason: "cancelled from the dashboard" });
        props.onDone();
      } else if (action.kind === "rerun") {
        await client.call("tasks.execute", { taskId: action.taskId, rerun: "failed" });
        props.onDone();
      } else {
        const copy = await client.call<{ rootId: string | null }>("tasks.copy", {
          taskId: action.taskId,
          mode,
          save: true,
        });
        if (!copy.rootId) throw new Error("the copy was not saved");
        await client.call("tasks.execute", { taskId: copy.rootId });
        props.onDone(copy.rootId);
      }
    } catch (err) {
      setBusy(false);
      setProblem((err as Error).message);
    }
  };
  if (action.kind === "cancel") {
    return (
      <ConfirmDialog
        title={action.tree ? "Cancel the whole tree?" : `Cancel ${task.name}?`}
        confirmLabel={action.tree ? "Cancel tree" : "Cancel task"}
        danger
        busy={busy}
        error={problem}
        onConfirm={run}
        onClose={props.onClose}
      >
        <p>
          {action.tree
            ? "Every task of this tree that has not finished is cancelled; running ones are asked to stop."
            : `${task.name} and the tasks under it that have not finished are cancelled.`}{" "}
          Finished tasks keep their results.
        </p>
      </ConfirmDialog>
    );
  }
  if (action.kind === "rerun") {
    return (
      <ConfirmDialog
        title="Re-run what failed?"
        confirmLabel="Re-run failed"
        busy={busy}
        error={problem}
        onConfirm={run}
        onClose={props.onClose}
      >
        <p>
          Failed and cancelled tasks of this tree run again, with the tasks that depend on them. Completed tasks keep
          their results.
        </p>
      </ConfirmDialog>
    );
  }
  const terminal = TERMINAL.has(task.status);
  return (
    <ConfirmDialog
      title={`Copy ${task.name} and run the copy?`}
      confirmLabel="Copy and run"
      busy={busy}
      error={problem}
      onConfirm={run}
      onClose={props.onClose}
    >
      <fieldset class="modes">
        <legend>What to copy</legend>
        <label>
          <input
            type="radio"
            name="mode"
            value="minimal"
            checked={mode === "minimal"}
            onChange={() => setMode("minimal")}
          />{" "}
          Minimal — this task, the tasks under it and what depends on them run again; completed tasks they need come
          along as finished
        </label>
        <label>
          <input type="radio" name="mode" value="full" checked={mode === "full"} onChange={() => setMode("full")} />{" "}
          Full — the whole tree; what did not complete runs again, completed tasks are copied as completed
        </label>
      </fieldset>
      <p class="muted">
        The copy is a new tree; this one {terminal ? "stays as it is" : "keeps running"}. You are taken to the copy.
      </p>
    </ConfirmDialog>
  );
}
