import { describe, expect, it } from "vitest";
import { type Route, formatRoute, normaliseBase, parseRoute, treesRoute } from "./route.js";

describe("routes", () => {
  it("every page round-trips through its URL under a base path", () => {
    const routes: Route[] = [
      treesRoute(),
      treesRoute({ status: ["failed", "cancelled"], user: "alice", q: "nightly report", offset: 50 }),
      { page: "tree", rootId: "r/1 x", taskId: null },
      { page: "tree", rootId: "abc", taskId: "t-9" },
      { page: "executors", id: null },
      { page: "executors", id: "system_info" },
      { page: "queue" },
    ];
    for (const base of ["/ui", "", "/deep/admin/"]) {
      for (const r of routes) {
        const url = new URL(formatRoute(r, base), "http://x");
        expect(parseRoute(url.pathname, url.search, base), `${base} ${url}`).toEqual(r);
      }
    }
    expect(formatRoute({ page: "tree", rootId: "abc", taskId: "t" }, "/ui")).toBe("/ui/trees/abc?task=t");
    expect(formatRoute(treesRoute({ status: ["failed"] }), "/ui")).toBe("/ui/?status=failed");
  });

  it("drops unknown statuses and bad offsets, and names unknown pages", () => {
    expect(parseRoute("/ui/", "?status=failed,bogus&status=pending&offset=-3", "/ui")).toEqual(
      treesRoute({ status: ["failed", "pending"] }),
    );
    expect(parseRoute("/ui", "", "/ui")).toEqual(treesRoute());
    expect(parseRoute("/ui/nope", "", "/ui")).toEqual({ page: "notfound", path: "/ui/nope" });
    expect(normaliseBase("ui/")).toBe("/ui");
    expect(normaliseBase("/")).toBe("");
  });
});
