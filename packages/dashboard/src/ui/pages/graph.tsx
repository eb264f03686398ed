import { memo } from "preact/compat";
import type { TargetedKeyboardEvent } from "preact";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
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
/** From this many tasks on, only what is in (or near) view is drawn. */
export const VIRTUALIZE_FROM = 300;

interface View {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * The tree as an SVG: parent/child boxes, dependency arrows, one node per task coloured by status
 * with icon, label, executor, duration and progress. Only the selected (or first) node is in the
 * tab order; arrow keys walk the nodes column by column, Enter or Space opens one.
 */
export function Graph({ layout, tasks, selected, now, onSelect }: GraphProps) {
  const wrap = useRef<HTMLElement>(null);
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
    if (
      cx < el.scrollLeft ||
      cx > el.scrollLeft + el.clientWidth ||
      cy < el.scrollTop ||
      cy > el.scrollTop + el.clientHeight
    ) {
      el.scrollTo({ left: cx - el.clientWidth / 2, top: cy - el.clientHeight / 2 });
    }
  }, [selected, byId, zoom]);

  // What is in view (graph units), for big graphs: scroll and resize update it once per frame.
  const virtual = layout.nodes.length >= VIRTUALIZE_FROM;
  const [view, setView] = useState<View | null>(null);
  // Measured before the first paint, so a big graph is never drawn whole even once.
  useLayoutEffect(() => {
    const el = wrap.current;
    if (!el || !virtual) return;
    let frame = 0;
    const update = () => {
      frame = 0;
      setView({
        left: el.scrollLeft / zoom,
        top: el.scrollTop / zoom,
        width: el.clientWidth / zoom,
        height: el.clientHeight / zoom,
      });
    };
    const schedule = () => {
      frame ||= requestAnimationFrame(update);
    };
    update();
    el.addEventListener("scroll", schedule, { passive: true });
    const resize = new ResizeObserver(schedule);
    resize.observe(el);
    return () => {
      el.removeEventListener("scroll", schedule);
      resize.disconnect();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [virtual, zoom]);
  const inView = useMemo(() => {
    if (!virtual) return null;
    if (!view) return { nodes: new Set<string>(), edges: [] };
    // One screen of margin around the view, so scrolling shows drawn nodes.
    const x0 = view.left - view.width;
    const x1 = view.left + 2 * view.width;
    const y0 = view.top - view.height;
    const y1 = view.top + 2 * view.height;
    const hit = (x: number, y: number, w: number, h: number) => x + w >= x0 && x <= x1 && y + h >= y0 && y <= y1;
    const nodes = new Set(layout.nodes.filter((n) => hit(n.x, n.y, n.width, n.height)).map((n) => n.id));
    const edges = layout.edges.filter((e) => nodes.has(e.from) || nodes.has(e.to));
    return { nodes, edges };
  }, [virtual, view, layout]);

  const focusNode = (id: string) => {
    setFocusId(id);
    const n = byId.get(id);
    const el = wrap.current;
    if (n && el) {
      const x = n.x * zoom;
      const y = n.y * zoom;
      if (
        x < el.scrollLeft ||
        x + n.width * zoom > el.scrollLeft + el.clientWidth ||
        y < el.scrollTop ||
        y + n.height * zoom > el.scrollTop + el.clientHeight
      ) {
        el.scrollTo({ left: x - el.clientWidth / 3, top: y - el.clientHeight / 3 });
      }
    }
    pendingFocus.current = id;
  };
  // Focus moves once the node is drawn (a big graph draws it when it scrolls into view).
  const pendingFocus = useRef<string | null>(null);
  useLayoutEffect(() => {
    const id = pendingFocus.current;
    if (!id) return;
    const target = wrap.current?.querySelector<SVGGElement>(`[data-task-id="${CSS.escape(id)}"]`);
    if (target) {
      target.focus({ preventScroll: true });
      pendingFocus.current = null;
    }
  });
  const onKeyDown = (e: TargetedKeyboardEvent<HTMLElement>) => {
    const target = e.target as Element;
    // A key pressed before the focus caught up acts on the node it is moving to.
    const id = pendingFocus.current ?? target.getAttribute?.("data-task-id");
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
        <button
          type="button"
          aria-label="Zoom out"
          disabled={zoomIndex <= 0}
          onClick={() => setZoom(ZOOMS[zoomIndex - 1] ?? zoom)}
        >
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
      <section
        class="graph-scroll"
        ref={wrap}
        onKeyDown={onKeyDown}
        aria-label={`Task graph, ${layout.nodes.length} tasks, dependencies flow left to right`}
      >
        <svg
          width={width * zoom}
          height={height * zoom}
          viewBox={`0 0 ${width} ${height}`}
          data-drawn={inView ? inView.nodes.size : layout.nodes.length}
        >
          <title>Task graph</title>
          <defs>
            <marker
              id="arrow"
              viewBox="0 0 10 10"
              refX="9"
              refY="5"
              markerWidth="7"
              markerHeight="7"
              orient="auto-start-reverse"
            >
              <path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head" />
            </marker>
          </defs>
          {layout.groups.map((g) => (
            <g key={g.id} class="group">
              <rect x={g.x} y={g.y} width={g.width} height={g.height} rx={8} />
              <text x={g.x + 8} y={g.y + 12} class="group-label">
                {tasks.get(g.taskId)?.name ?? g.taskId}
              </text>
            </g>
          ))}
          <Edges edges={inView ? inView.edges : layout.edges} />
          {layout.nodes.map((n) => {
            const t = tasks.get(n.id);
            if (!t) return null;
            if (inView && !inView.nodes.has(n.id) && n.id !== active && n.id !== selected) return null;
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
      </section>
    </div>
  );
}

const Edges = memo(function Edges({ edges }: { edges: Layout["edges"] }) {
  return (
    <g class="edges">
      {edges.map((e) => (
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
  // Duration before executor: a long executor id is what gets clipped.
  const detail = `${duration === null ? "not run" : formatDuration(duration)} · ${executor}`;
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
        {clip(`${look.label} · ${detail}`, 31)}
      </text>
      {t.status === "in_progress" ? (
        <rect
          x={6}
          y={n.height - 4}
          width={Math.max(2, (n.width - 6) * Math.min(1, t.progress || 0))}
          height={4}
          class="node-progress"
        />
      ) : null}
    </g>
  );
});
