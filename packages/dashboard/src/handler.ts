import { createHash } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";

export interface DashboardOptions {
  /** Where the dashboard is mounted, e.g. "/ui" (default) or "/" for the origin's root. */
  basePath?: string;
  /**
   * Where the page finds the API (JSON-RPC `POST {apiUrl}/tasks`): "" (default) for the same
   * origin, or an absolute URL of another server (which must then allow this origin by CORS).
   */
  apiUrl?: string;
  /** Page title. */
  title?: string;
  /** The built assets (index.html, app.js, app.css, layout-worker.js); the package's own by default. */
  assetsDir?: string;
}

/** Anything with a fetch handler (a Hono app, or `{ fetch }`). */
export interface FetchHandler {
  fetch(request: Request, env?: unknown): Response | Promise<Response>;
}

/** The dashboard's assets could not be found or are incomplete (the package was not built). */
export class DashboardAssetsError extends Error {
  override name = "DashboardAssetsError";
}

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

const REQUIRED = ["index.html", "app.js", "app.css", "layout-worker.js"];

/** `basePath` normalised: leading slash, no trailing slash, "" for the root. */
export function normaliseBasePath(basePath: string | undefined): string {
  const raw = (basePath ?? "/ui").trim();
  if (/[?#\s"'<>\\]/.test(raw)) throw new TypeError(`dashboard basePath must be a plain path, got "${raw}"`);
  const b = raw.replace(/\/+$/, "");
  if (b === "") return "";
  return b.startsWith("/") ? b : `/${b}`;
}

function defaultAssetsDir(): string {
  // dist/index.js → dist/ui; src/handler.ts (tests, tsx) → dist/ui of the package.
  for (const candidate of ["./ui/", "../dist/ui/"]) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(join(dir, "app.js"))) return dir;
  }
  return fileURLToPath(new URL("./ui/", import.meta.url));
}

function loadAssets(dir: string): Map<string, Asset> {
  const missing = REQUIRED.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    throw new DashboardAssetsError(
      `dashboard assets missing in ${dir}: ${missing.join(", ")} (build the package: pnpm --filter @aipartnerupflow/dashboard build)`,
    );
  }
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = new Uint8Array(readFileSync(join(dir, name)));
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    assets.set(name, { body, type, etag });
  }
  return assets;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The Content-Security-Policy of the page: only its own scripts and styles, no inline code. */
export function contentSecurityPolicy(apiUrl: string): string {
  let api = "";
  if (/^https?:\/\//i.test(apiUrl)) api = ` ${new URL(apiUrl).origin}`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "worker-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${api}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

/**
 * The dashboard as a Hono app answering under `basePath`: the single page (for every path under
 * it, so each page has a shareable URL) and its assets under `{basePath}/assets/`. The assets are
 * public; the data comes from the API, behind the API's own auth.
 */
export function createDashboard(options: DashboardOptions = {}): Hono {
  const base = normaliseBasePath(options.basePath);
  const apiUrl = (options.apiUrl ?? "").replace(/\/+$/, "");
  if (apiUrl && !/^https?:\/\/[^/]/i.test(apiUrl) && !apiUrl.startsWith("/")) {
    throw new TypeError(`dashboard apiUrl must be an http(s) URL or a path, got "${apiUrl}"`);
  }
  const dir = options.assetsDir ?? defaultAssetsDir();
  const assets = loadAssets(dir);
  const title = options.title ?? "apflow dashboard";
  const config = JSON.stringify({ basePath: base, apiUrl, title });
  const csp = contentSecurityPolicy(apiUrl);
  const template = new TextDecoder().decode(readFileSync(join(dir, "index.html")));
  const html = template
    .replaceAll("%BASE%", escapeHtml(base))
    .replaceAll("%TITLE%", escapeHtml(title))
    .replaceAll("%CONFIG%", escapeHtml(config))
    .replaceAll("%VERSION%", escapeHtml(assets.get("app.js")?.etag.slice(1, 9) ?? "0"));

  const app = new Hono();
  const page = (c: { req: { method: string } }) =>
    new Response(c.req.method === "HEAD" ? null : html, {
      headers: {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-cache",
        "content-security-policy": csp,
        ...SECURITY_HEADERS,
      },
    });
  app.get(`${base}/assets/:name`, (c) => {
    const asset = assets.get(c.req.param("name"));
    if (!asset) return c.text("not found", 404, SECURITY_HEADERS);
    const headers = {
      "content-type": asset.type,
      "cache-control": "no-cache",
      etag: asset.etag,
      ...SECURITY_HEADERS,
    };
    if (c.req.header("if-none-match") === asset.etag) return new Response(null, { status: 304, headers });
    return new Response(c.req.method === "HEAD" ? null : asset.body, { headers });
  });
  app.get(base || "/", page);
  if (base) app.get(`${base}/`, page);
  app.get(`${base}/*`, page);
  return app;
}

/**
 * One fetch handler serving the dashboard under `basePath` and everything else from `api`
 * (the app of `createApp`, for instance), so the page and the API share one origin and port.
 * A browser asking for `/` is sent to the dashboard.
 */
export function withDashboard(api: FetchHandler, options: DashboardOptions = {}): FetchHandler {
  const base = normaliseBasePath(options.basePath);
  const dashboard = createDashboard({ ...options, basePath: base });
  return {
    fetch(request: Request, env?: unknown) {
      const { pathname } = new URL(request.url);
      const read = request.method === "GET" || request.method === "HEAD";
      if (base) {
        if (pathname === base || pathname.startsWith(`${base}/`)) return dashboard.fetch(request, env);
        if (pathname === "/" && read && wantsHtml(request)) {
          return new Response(null, { status: 302, headers: { location: `${base}/` } });
        }
      } else if (read && !isApiPath(pathname)) {
        return dashboard.fetch(request, env);
      }
      return api.fetch(request, env);
    },
  };
}

function wantsHtml(request: Request): boolean {
  return (request.headers.get("accept") ?? "").includes("text/html");
}

/** Paths the API owns even when the dashboard sits at the root. */
function isApiPath(pathname: string): boolean {
  return /^\/(tasks|health|mcp|a2a|docs|openapi\.json|\.well-known)(\/|$)/.test(pathname);
}
