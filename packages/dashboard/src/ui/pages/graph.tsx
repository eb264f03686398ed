import { memo } from "preact/compat";
import type { TargetedKeyboardEvent } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { STATUS_LOOK, formatDuration } from "../data/format.js";
import type { Layout, LayoutNode } from "../data/layout.js";
import { readingOrder } from "../data/layout.js";
import { executorOf, taskDurationMs } from "../data/tree-model.js";
import type { Task } from "../data/types.js";

interface GraphProps {
  layout: Layout;
  tasks: ReadonlyMap<string, Task>;
  selected: string | null;
  now: number;
  onSelect(id: string): void;
}

const ZOOMS = [0.25, 0.4, 0.55, 0.7, 0.85, 1, 1.25, 1.5];

/**
 * The tree as an SVG: parent/child boxes, dependency arrows, one node per task coloured by status
 * with icon, label, executor, duration and progress. Only the selected (or first) node is in the
 * tab order; arrow keys walk the nodes column by column, Enter or Space opens one.
 */
export function Graph({ layout, tasks, selected, now, onSelect }: GraphProps) {
  const wrap = useRef<HTMLDivElement>(null);
  const order = useMemo(() => readingOrder(layout.nodes), [layout]);
  const byId = useMemo(() => new Map(layout.nodes.map((n) => [n.id, n])), [layout]);
  const [zoom, setZoom] = useState(() => (layout.nodes.length > 200 ? 0.55 : 1));
  const [focusId, setFocusId] = useState<string | null>(selected);
  const active = focusId && byId.has(focusId) ? focusId : (selected ?? order[0] ?? null);

  // Bring the selected task into view when chosen from elsewhere (URL, panel).
  useEffect(() => {
    if (!selected || !wrap.current) return;
    const n = byId.get(selected);
    if (!n) return;
    const el = wrap.current;
    const cx = (n.x + n.width / 2) * zoom;
    const cy = (n.y + n.height / 2) * zoom;
    if (cx < el.scrollLeft || cx > el.scrollLeft + el.clientWidth || cy < el.scrollTop || cy > el.scrollTop + el.clientHeight) {
      el.scrollTo({ left: cx - el.clientWidth / 2, top: cy - el.clientHeight / 2 });
    }
  }, [selected, byId, zoom]);

  const focusNode = (id: string) => {
    setFocusId(id);
    const el = wrap.current?.querySelector<SVGGElement>(`[data-task-id="${CSS.escape(id)}"]`);
    el?.focus();
  };
  const onKeyDown = (e: TargetedKeyboardEvent<HTMLDivElement>) => {
    const target = e.target as Element;
    const id = target.getAttribute?.("data-task-id");
    if (!id) return;
    const i = order.indexOf(id);
    let next: string | undefined;
    if (e.key === "ArrowDown" || e.key === "ArrowRight") next = order[Math.min(order.length - 1, i + 1)];
    else if (e.key === "ArrowUp" || e.key === "ArrowLeft") next = order[Math.max(0, i - 1)];
    else if (e.key === "Home") next = order[0];
    else if (e.key === "End") next = order[order.length - 1];
    else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onSelect(id);
      return;
    } else return;
    e.preventDefault();
    if (next) focusNode(next);
  };
  const zoomIndex = ZOOMS.indexOf(zoom);
  const width = Math.max(1, layout.width);
  const height = Math.max(1, layout.height);

  return (
    <div class="graph">
      <div class="graph-tools" role="toolbar" aria-label="Graph zoom">
        <button type="button" aria-label="Zoom out" disabled={zoomIndex <= 0} onClick={() => setZoom(ZOOMS[zoomIndex - 1] ?? zoom)}>
          −
        </button>
        <span class="muted">{Math.round(zoom * 100)}%</span>
        <button
          type="button"
          aria-label="Zoom in"
          disabled={zoomIndex >= ZOOMS.length - 1}
          onClick={() => setZoom(ZOOMS[zoomIndex + 1] ?? zoom)}
        >
          +
        </button>
        <button
          type="button"
          onClick={() => {
            const el = wrap.current;
            if (!el) return;
            const fit = Math.min(el.clientWidth / width, el.clientHeight / height, 1);
            setZoom(ZOOMS.reduce((best, z) => (z <= fit && z > best ? z : best), ZOOMS[0] as number));
          }}
        >
          Fit
        </button>
        <span class="muted graph-hint">arrow keys move, Enter opens</span>
      </div>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: keys are handled for the nodes inside */}
      <div class="graph-scroll" ref={wrap} onKeyDown={onKeyDown}>
        <svg
          width={width * zoom}
          height={height * zoom}
          viewBox={`0 0 ${width} ${height}`}
          role="group"
          aria-label={`Task graph, ${layout.nodes.length} tasks, dependencies flow left to right`}
        >
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head" />
            </marker>
          </defs>
          {layout.groups.map((g) => (
            <g key={g.id} class="group">
              <rect x={g.x} y={g.y} width={g.width} height={g.height} rx={8} />
              <text x={g.x + 8} y={g.y + 15} class="group-label">
                {tasks.get(g.taskId)?.name ?? g.taskId}
              </text>
            </g>
          ))}
          <Edges layout={layout} />
          {layout.nodes.map((n) => {
            const t = tasks.get(n.id);
            if (!t) return null;
            const running = t.status === "in_progress";
            return (
              <Node
                key={n.id}
                node={n}
                task={t}
                selected={n.id === selected}
                tabbable={n.id === active}
                // Only running tasks need the clock; the rest keep their props and are not redrawn.
                now={running ? now : 0}
                onSelect={onSelect}
                onFocus={setFocusId}
              />
            );
          })}
        </svg>
      </div>
    </div>
  );
}

const Edges = memo(function Edges({ layout }: { layout: Layout }) {
  return (
    <g class="edges">
      {layout.edges.map((e) => (
        <path
          key={`${e.from}>${e.to}`}
          d={e.points.map((p, i) => `${i === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ")}
          class={e.required ? "edge" : "edge optional"}
          marker-end="url(#arrow)"
        />
      ))}
    </g>
  );
});

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

const Node = memo(function Node(props: {
  node: LayoutNode;
  task: Task;
  selected: boolean;
  tabbable: boolean;
  now: number;
  onSelect(id: string): void;
  onFocus(id: string): void;
}) {
  const { node: n, task: t } = props;
  const look = STATUS_LOOK[t.status];
  const executor = executorOf(t) ?? "group";
  const duration = taskDurationMs(t, props.now || Date.now());
  const detail = `${executor} · ${duration === null ? "not started" : formatDuration(duration)}`;
  return (
    // biome-ignore lint/a11y/useSemanticElements: an SVG node cannot be a <button>
    <g
      class={`node status-${t.status}${props.selected ? " selected" : ""}`}
      transform={`translate(${n.x},${n.y})`}
      data-task-id={t.id}
      data-status={t.status}
      role="button"
      tabIndex={props.tabbable ? 0 : -1}
      aria-label={`${t.name}: ${look.label}, ${detail}`}
      aria-pressed={props.selected}
      onClick={() => props.onSelect(t.id)}
      onFocus={() => props.onFocus(t.id)}
    >
      <rect width={n.width} height={n.height} rx={6} class="node-box" />
      <rect width={6} height={n.height} rx={3} class="node-stripe" />
      <text x={14} y={20} class="node-title">
        <tspan class="node-icon">{look.icon}</tspan> {clip(t.name, 22)}
      </text>
      <text x={14} y={38} class="node-detail">
        {clip(`${look.label} · ${detail}`, 32)}
      </text>
      {t.status === "in_progress" ? (
        <rect x={6} y={n.height - 4} width={Math.max(2, (n.width - 6) * Math.min(1, t.progress || 0))} height={4} class="node-progress" />
      ) : null}
    </g>
  );
});
