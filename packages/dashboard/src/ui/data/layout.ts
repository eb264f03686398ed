import dagre from "@dagrejs/dagre";

/** What the layout needs of a task. */
export interface LayoutTask {
  id: string;
  parentId: string | null;
  dependencies: Array<{ id: string; required: boolean }>;
}

export interface LayoutNode {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LayoutGroup extends LayoutNode {
  /** The parent task whose children the group holds. */
  taskId: string;
  depth: number;
}

export interface LayoutEdge {
  from: string;
  to: string;
  required: boolean;
  points: Array<{ x: number; y: number }>;
}

export interface Layout {
  nodes: LayoutNode[];
  groups: LayoutGroup[];
  edges: LayoutEdge[];
  width: number;
  height: number;
  /** Milliseconds the layout took where it ran. */
  ms: number;
}

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 52;
/** Above this many tasks parent/child boxes are left out (they cost layout time and stop helping). */
export const MAX_GROUPED_TASKS = 2000;
/**
 * From this many tasks on, dagre ranks by longest path and skips its extra ordering pass:
 * measured on a 1,000-task tree, network-simplex ranking took 12–19 s, longest-path ~1.3 s.
 */
export const LARGE_TREE = 250;

const groupId = (taskId: string) => `group:${taskId}`;

/**
 * Left-to-right layout of a tree with dagre: dependencies are edges (from the dependency to the
 * task that needs it, so work flows left to right), and each parent with children is a box
 * around itself and its children. Coordinates are top-left corners.
 */
export function layoutTree(tasks: readonly LayoutTask[]): Layout {
  const started = typeof performance !== "undefined" ? performance.now() : Date.now();
  const ids = new Set(tasks.map((t) => t.id));
  // The root's box would be the whole graph: only parents below the root get one.
  const roots = new Set(tasks.filter((t) => !t.parentId || !ids.has(t.parentId)).map((t) => t.id));
  const parents = new Set<string>();
  for (const t of tasks) if (t.parentId && ids.has(t.parentId) && !roots.has(t.parentId)) parents.add(t.parentId);
  const grouped = tasks.length <= MAX_GROUPED_TASKS && parents.size > 0;

  const g = new dagre.graphlib.Graph({ compound: grouped, multigraph: false });
  const large = tasks.length >= LARGE_TREE;
  g.setGraph({
    rankdir: "LR",
    nodesep: 14,
    ranksep: 56,
    marginx: 16,
    marginy: 16,
    ...(large ? { ranker: "longest-path" } : {}),
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const t of tasks) g.setNode(t.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  if (grouped) {
    for (const p of parents) g.setNode(groupId(p), { paddingTop: 24, paddingLeft: 10, paddingRight: 10 });
    for (const t of tasks) {
      // A parent sits in its own group; that group (or a plain task) sits in its parent's group.
      const own = parents.has(t.id) ? groupId(t.id) : null;
      if (own) g.setParent(t.id, own);
      if (t.parentId && parents.has(t.parentId)) g.setParent(own ?? t.id, groupId(t.parentId));
    }
  }
  const edges: Array<{ from: string; to: string; required: boolean }> = [];
  for (const t of tasks) {
    for (const d of t.dependencies) {
      if (!ids.has(d.id) || d.id === t.id) continue;
      g.setEdge(d.id, t.id);
      edges.push({ from: d.id, to: t.id, required: d.required });
    }
  }
  dagre.layout(g, large ? { disableOptimalOrderHeuristic: true } : {});

  const nodes: LayoutNode[] = tasks.map((t) => {
    const n = g.node(t.id);
    return { id: t.id, x: n.x - NODE_WIDTH / 2, y: n.y - NODE_HEIGHT / 2, width: NODE_WIDTH, height: NODE_HEIGHT };
  });
  const parentOf = new Map(tasks.map((t) => [t.id, t.parentId]));
  const depthOf = new Map<string, number>();
  const depth = (id: string): number => {
    const known = depthOf.get(id);
    if (known !== undefined) return known;
    const parent = parentOf.get(id);
    const d = parent && parents.has(parent) ? depth(parent) + 1 : 0;
    depthOf.set(id, d);
    return d;
  };
  const groups: LayoutGroup[] = grouped
    ? [...parents].map((p) => {
        const n = g.node(groupId(p));
        return {
          id: groupId(p),
          taskId: p,
          x: n.x - n.width / 2,
          y: n.y - n.height / 2,
          width: n.width,
          height: n.height,
          depth: depth(p),
        };
      })
    : [];
  groups.sort((a, b) => a.depth - b.depth);
  const laidEdges: LayoutEdge[] = edges.map((e) => ({
    ...e,
    points: (g.edge(e.from, e.to)?.points ?? []).map((p: { x: number; y: number }) => ({ x: p.x, y: p.y })),
  }));
  const graph = g.graph();
  const ended = typeof performance !== "undefined" ? performance.now() : Date.now();
  return {
    nodes,
    groups,
    edges: laidEdges,
    width: Math.ceil(graph.width ?? 0),
    height: Math.ceil(graph.height ?? 0),
    ms: ended - started,
  };
}

/**
 * Keyboard order of the graph: column by column (left to right), top to bottom within a column,
 * so arrow keys walk the way the work flows.
 */
export function readingOrder(nodes: readonly LayoutNode[]): string[] {
  return [...nodes].sort((a, b) => (Math.abs(a.x - b.x) > 1 ? a.x - b.x : a.y - b.y)).map((n) => n.id);
}
