import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import {
  DashboardAssetsError,
  contentSecurityPolicy,
  createApiProxy,
  createDashboard,
  normaliseBasePath,
  withDashboard,
} from "./index.js";

function api() {
  const app = new Hono();
  app.post("/tasks", async (c) =>
    c.json({
      got: await c.req.text(),
      auth: c.req.header("authorization") ?? null,
      ...(c.req.header("cookie") ? { cookie: c.req.header("cookie") } : {}),
    }),
  );
  app.get("/tasks/methods", (c) => c.json({ methods: [{ name: "tasks.list" }] }));
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.all("*", (c) => c.json({ api: c.req.path }, 404));
  return app;
}

describe("createDashboard", () => {
  it("serves the page for every path under the base with a strict CSP and the config escaped", async () => {
    const d = createDashboard({ basePath: "/ui", title: 'Ops "<dash>"' });
    for (const path of ["/ui", "/ui/", "/ui/trees/abc?task=x", "/ui/queue"]) {
      const r = await d.request(path);
      expect(r.status, path).toBe(200);
      expect(r.headers.get("content-type")).toContain("text/html");
      const csp = r.headers.get("content-security-policy") ?? "";
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(r.headers.get("x-frame-options")).toBe("DENY");
      const html = await r.text();
      expect(html).toContain('src="/ui/assets/app.js?v=');
      expect(html).toContain("&#34;basePath&#34;:&#34;/ui&#34;");
      expect(html).not.toContain("<dash>");
      // No inline code at all: every script has a src.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/\son[a-z]+=/);
    }
    expect((await d.request("/elsewhere")).status).toBe(404);
  });

  it("serves the built assets with types, ETags and 304s", async () => {
    const d = createDashboard({ basePath: "/ui" });
    const js = await d.request("/ui/assets/app.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("x-content-type-options")).toBe("nosniff");
    const etag = js.headers.get("etag") as string;
    expect((await d.request("/ui/assets/app.js", { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await d.request("/ui/assets/app.css")).headers.get("content-type")).toContain("text/css");
    expect((await d.request("/ui/assets/layout-worker.js")).status).toBe(200);
    expect((await d.request("/ui/assets/nope.js")).status).toBe(404);
    expect((await d.request("/ui/assets/..%2Fpackage.json")).status).toBe(404);
  });

  it("refuses bad options and missing assets by name", () => {
    expect(() => normaliseBasePath('/ui"><script>')).toThrow(/plain path/);
    expect(normaliseBasePath("admin/dash/")).toBe("/admin/dash");
    expect(normaliseBasePath("/")).toBe("");
    expect(() => createDashboard({ apiUrl: "javascript:alert(1)" })).toThrow(/apiUrl/);
    const empty = mkdtempSync(join(tmpdir(), "apflow-dash-assets-"));
    writeFileSync(join(empty, "index.html"), "<html></html>");
    expect(() => createDashboard({ assetsDir: empty })).toThrow(DashboardAssetsError);
    expect(() => createDashboard({ assetsDir: empty })).toThrow(/app\.js, app\.css, layout-worker\.js/);
  });

  it("lets the page reach another API origin only when told to", () => {
    expect(contentSecurityPolicy("")).toContain("connect-src 'self';");
    expect(contentSecurityPolicy("https://api.example.test/base")).toContain(
      "connect-src 'self' https://api.example.test;",
    );
  });
});

describe("withDashboard", () => {
  it("mounts the page under the base, passes the rest to the API and sends browsers at / to the page", async () => {
    const h = withDashboard(api(), { basePath: "/ui" });
    const page = await h.fetch(new Request("http://x/ui/trees/1"));
    expect(page.headers.get("content-type")).toContain("text/html");
    const rpc = await h.fetch(new Request("http://x/tasks", { method: "POST", body: "{}" }));
    expect(await rpc.json()).toEqual({ got: "{}", auth: null });
    const browser = await h.fetch(new Request("http://x/", { headers: { accept: "text/html" } }));
    expect(browser.status).toBe(302);
    expect(browser.headers.get("location")).toBe("/ui/");
    // Not a browser (A2A clients, curl): the API answers.
    expect((await h.fetch(new Request("http://x/"))).status).toBe(404);
    expect(await (await h.fetch(new Request("http://x/uix"))).json()).toEqual({ api: "/uix" });
  });

  it("at the root, leaves the API's own paths to the API", async () => {
    const h = withDashboard(api(), { basePath: "/" });
    expect((await h.fetch(new Request("http://x/trees/1"))).headers.get("content-type")).toContain("text/html");
    expect(await (await h.fetch(new Request("http://x/health"))).json()).toEqual({ status: "ok" });
    expect((await h.fetch(new Request("http://x/tasks", { method: "POST", body: "[]" }))).status).toBe(200);
  });
});

describe("createApiProxy", () => {
  it("forwards the dashboard's API paths with their Authorization, and says when the target is down", async () => {
    const target = api();
    const proxy = createApiProxy("http://upstream.test/base/", (input, init) => {
      const url = new URL(String(input));
      expect(url.pathname.startsWith("/base/")).toBe(true);
      return Promise.resolve(target.request(url.pathname.slice("/base".length) + url.search, init as RequestInit));
    });
    const r = await proxy.request("/tasks", {
      method: "POST",
      body: '{"id":1}',
      headers: { authorization: "Bearer t", cookie: "session=1" },
    });
    // The token goes through; the browser's cookies for this origin do not.
    expect(await r.json()).toEqual({ got: '{"id":1}', auth: "Bearer t" });
    expect(await (await proxy.request("/tasks/methods")).json()).toEqual({ methods: [{ name: "tasks.list" }] });
    expect((await proxy.request("/mcp", { method: "POST" })).status).toBe(404);
    const down = createApiProxy("http://127.0.0.1:9/", () => Promise.reject(new Error("connection refused")));
    const failed = await down.request("/tasks", { method: "POST", body: "{}" });
    expect(failed.status).toBe(502);
    expect(((await failed.json()) as { error: { message: string } }).error.message).toContain("connection refused");
    expect(() => createApiProxy("ftp://x")).toThrow(/http\(s\) URL/);
    expect(() => createApiProxy("not a url")).toThrow(/http\(s\) URL/);
  });
});
