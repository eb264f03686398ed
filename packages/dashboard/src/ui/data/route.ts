import { STATUSES, type TaskStatus } from "./types.js";

export const PAGE_SIZE = 25;

export type Route =
  | { page: "trees"; status: TaskStatus[]; user: string; q: string; offset: number }
  | { page: "tree"; rootId: string; taskId: string | null }
  | { page: "executors"; id: string | null }
  | { page: "queue" }
  | { page: "notfound"; path: string };

export type TreesRoute = Extract<Route, { page: "trees" }>;

export function treesRoute(partial: Partial<TreesRoute> = {}): TreesRoute {
  return { page: "trees", status: [], user: "", q: "", offset: 0, ...partial };
}

/** `basePath` without a trailing slash ("" for the origin's root). */
export function normaliseBase(basePath: string): string {
  const b = basePath.trim().replace(/\/+$/, "");
  if (b === "") return "";
  return b.startsWith("/") ? b : `/${b}`;
}

/** The page a URL shows. Unknown statuses and bad numbers in the query are dropped, not fatal. */
export function parseRoute(pathname: string, search: string, basePath: string): Route {
  const base = normaliseBase(basePath);
  let path = pathname;
  if (base && (path === base || path.startsWith(`${base}/`))) path = path.slice(base.length);
  path = path.replace(/\/+$/, "") || "/";
  const q = new URLSearchParams(search);
  if (path === "/" || path === "/trees") {
    const status = q
      .getAll("status")
      .flatMap((s) => s.split(","))
      .filter((s): s is TaskStatus => (STATUSES as readonly string[]).includes(s));
    const offset = Number(q.get("offset") ?? "0");
    return treesRoute({
      status,
      user: q.get("user") ?? "",
      q: q.get("q") ?? "",
      offset: Number.isSafeInteger(offset) && offset > 0 ? offset : 0,
    });
  }
  const tree = /^\/trees\/([^/]+)$/.exec(path);
  if (tree) return { page: "tree", rootId: decodeURIComponent(tree[1] as string), taskId: q.get("task") || null };
  if (path === "/executors") return { page: "executors", id: q.get("id") || null };
  if (path === "/queue") return { page: "queue" };
  return { page: "notfound", path: pathname };
}

/** The URL of a page (path and query), under `basePath`. */
export function formatRoute(route: Route, basePath: string): string {
  const base = normaliseBase(basePath);
  const q = new URLSearchParams();
  let path: string;
  switch (route.page) {
    case "trees":
      path = "/";
      if (route.status.length > 0) q.set("status", route.status.join(","));
      if (route.user) q.set("user", route.user);
      if (route.q) q.set("q", route.q);
      if (route.offset > 0) q.set("offset", String(route.offset));
      break;
    case "tree":
      path = `/trees/${encodeURIComponent(route.rootId)}`;
      if (route.taskId) q.set("task", route.taskId);
      break;
    case "executors":
      path = "/executors";
      if (route.id) q.set("id", route.id);
      break;
    case "queue":
      path = "/queue";
      break;
    case "notfound":
      return route.path;
  }
  const query = q.toString();
  return `${base}${path}${query ? `?${query}` : ""}`;
}
