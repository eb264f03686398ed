/* biome-ignore-all lint/performance/useDomNodeTextContent: these are Playwright's locator.innerText(), not the DOM property */
// End-to-end: a real server (api-a2a + SQLite store + dashboard at /ui) driven in headless
// Debian Chromium through playwright-core. Screenshots go to test-artifacts/ (gitignored); with
// APFLOW_UPDATE_SCREENSHOTS=1 the tree page's is also written to docs/img/dashboard-tree.png.
import { existsSync, mkdirSync, mkdtempSync, copyFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, startTestServer } from "../test-support/server.js";

const CHROMIUM = process.env.APFLOW_CHROMIUM ?? "/usr/bin/chromium";
const ARTIFACTS = fileURLToPath(new URL("../test-artifacts/", import.meta.url));
const README_SHOT = fileURLToPath(new URL("../../../docs/img/dashboard-tree.png", import.meta.url));

if (!existsSync(CHROMIUM)) {
  throw new Error(
    `Chromium not found at ${CHROMIUM}: install it with apt-get install -y chromium (or set APFLOW_CHROMIUM)`,
  );
}

let server: TestServer;
let context: BrowserContext;
let profile: string;
/** Console errors and page errors of every page, checked at the end. */
const problems: string[] = [];

async function rpc<T = any>(method: string, params: unknown, s: TestServer = server): Promise<T> {
  const r = await fetch(`${s.url}/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await r.json()) as { result?: T; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result as T;
}

async function newPage(options: { width?: number; height?: number } = {}): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize({ width: options.width ?? 1280, height: options.height ?? 800 });
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()} (${page.url()})`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message} (${page.url()})`));
  return page;
}

async function shot(page: Page, name: string): Promise<string> {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** What the graph shows: task id → status, from the SVG nodes. */
async function graphStatuses(page: Page): Promise<Record<string, string>> {
  return page.$$eval(".node", (nodes) =>
    Object.fromEntries(nodes.map((n) => [n.getAttribute("data-task-id"), n.getAttribute("data-status")])),
  );
}

async function treeStatuses(rootId: string): Promise<Record<string, string>> {
  const { tasks } = await rpc<{ tasks: Array<{ id: string; status: string }> }>("tasks.tree", {
    rootId,
    format: "flat",
  });
  return Object.fromEntries(tasks.map((t) => [t.id, t.status]));
}

const nightly = [
  { name: "nightly-report", params: { executorId: "aggregate_results" }, dependencies: ["host-facts", "data-volume"] },
  {
    name: "host-facts",
    parentId: "nightly-report",
    params: { executorId: "aggregate_results" },
    dependencies: ["cpu", "memory"],
  },
  { name: "cpu", parentId: "host-facts", params: { executorId: "echo" }, inputs: { resource: "cpu" } },
  { name: "memory", parentId: "host-facts", params: { executorId: "echo" }, inputs: { resource: "memory" } },
  {
    name: "data-volume",
    parentId: "nightly-report",
    params: { executorId: "aggregate_results" },
    dependencies: ["disk", "archive"],
  },
  { name: "disk", parentId: "data-volume", params: { executorId: "switch", key: "disk" }, inputs: { path: "/data" } },
  { name: "archive", parentId: "data-volume", params: { executorId: "echo" }, inputs: { days: 7 } },
];

let nightlyRoot: string;
let taskIds: Record<string, string>;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  server = await startTestServer();
  profile = mkdtempSync(join(tmpdir(), "apflow-chromium-"));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  const created = await rpc<{ rootId: string; tasks: Array<{ id: string; name: string }> }>("tasks.create", {
    tasks: nightly,
  });
  nightlyRoot = created.rootId;
  taskIds = Object.fromEntries(created.tasks.map((t) => [t.name, t.id]));
  await rpc("tasks.execute", { taskId: nightlyRoot, wait: true });
});

afterAll(async () => {
  await context?.close();
  await server?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe("dashboard in Chromium", () => {
  it("lists the trees with status, progress and counts", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/ui/`);
    const row = page.locator(`tr[data-root="${nightlyRoot}"]`);
    await row.waitFor();
    expect(await row.locator("td").nth(0).innerText()).toContain("nightly-report");
    expect(await row.locator(".badge").first().getAttribute("data-status")).toBe("failed");
    const tasksCell = await row.locator("td").nth(3).innerText();
    expect(tasksCell).toMatch(/^7/);
    expect(tasksCell).toContain("4"); // completed: cpu, memory, host-facts, archive
    expect(tasksCell).toContain("3"); // failed: disk, data-volume, nightly-report
    expect(await row.locator("progress").getAttribute("value")).toBe("100");
    // Filters are in the URL, so a filtered list can be shared.
    await page.getByRole("button", { name: /Completed/ }).click();
    await page.waitForURL(/status=completed/);
    await page.getByText("No trees match these filters").waitFor();
    await page.goto(`${server.url}/ui/?status=failed&q=nightly`);
    await row.waitFor();
    await shot(page, "trees");
    await page.close();
  });

  it("draws every task of the tree with its status, and the failed task's error and attempts", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/ui/`);
    await page.getByRole("link", { name: "nightly-report" }).click();
    await page.waitForURL(new RegExp(`/ui/trees/${nightlyRoot}$`));
    await page.waitForSelector("body[data-tree-ready]");
    expect(await graphStatuses(page)).toEqual(await treeStatuses(nightlyRoot));
    // Status is told by icon and word too, not colour alone.
    expect(await page.locator(`.node[data-task-id="${taskIds.disk}"]`).getAttribute("aria-label")).toMatch(
      /^disk: Failed/,
    );
    // Parent/child boxes and dependency arrows.
    expect(await page.locator(".group").count()).toBe(2);
    expect(await page.locator(".edge").count()).toBe(6);

    await page.locator(`.node[data-task-id="${taskIds.disk}"]`).click();
    await page.waitForURL(/task=/);
    const panel = page.locator(".panel");
    await panel.locator(".task-error").waitFor();
    expect(await panel.locator(".task-error").innerText()).toContain("SWITCH_OFF");
    expect(await panel.locator(".task-error").innerText()).toContain("switch disk is off");
    const attempts = panel.locator("table.attempts tbody tr");
    await attempts.first().waitFor();
    expect(await attempts.count()).toBe(1);
    expect(await attempts.first().innerText()).toContain("SWITCH_OFF");
    expect(await panel.innerText()).toContain('"path": "/data"');
    expect(await panel.locator("ol.events li").count()).toBeGreaterThanOrEqual(2);
    await shot(page, "tree");
    // The README's screenshot is refreshed on request only, so test runs leave the repo clean.
    if (process.env.APFLOW_UPDATE_SCREENSHOTS === "1") copyFileSync(join(ARTIFACTS, "tree.png"), README_SHOT);

    // Keyboard: arrow keys walk the nodes, Enter opens one.
    await page.locator(`.node[data-task-id="${taskIds.disk}"]`).focus();
    await page.keyboard.press("End");
    await page.keyboard.press("Enter");
    await page.waitForURL((u) => u.searchParams.get("task") === nightlyRoot);
    await page.locator(".panel h2", { hasText: "nightly-report" }).waitFor();
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press(" ");
    await page.waitForURL((u) => u.searchParams.get("task") !== nightlyRoot);

    // A narrow window: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 400, height: 800 });
    await page.waitForTimeout(200);
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await shot(page, "tree-narrow");
    await page.close();
  });

  it("re-runs what failed from the page, and the graph follows live", async () => {
    server.turnOn("disk");
    const page = await newPage();
    await page.goto(`${server.url}/ui/trees/${nightlyRoot}`);
    await page.waitForSelector("body[data-tree-ready]");
    await page.getByRole("button", { name: "Re-run failed" }).click();
    const dialog = page.locator("dialog[open]");
    await dialog.waitFor();
    expect(await dialog.innerText()).toContain("Re-run what failed?");
    await shot(page, "rerun-confirm");
    await dialog.getByRole("button", { name: "Re-run failed" }).click();
    await page.waitForSelector(`.node[data-task-id="${nightlyRoot}"][data-status="completed"]`);
    expect(await graphStatuses(page)).toEqual(await treeStatuses(nightlyRoot));
    expect(Object.values(await graphStatuses(page)).every((s) => s === "completed")).toBe(true);
    await page.locator(`.node[data-task-id="${taskIds.disk}"]`).click();
    await page.locator("table.attempts tbody tr").nth(1).waitFor();
    expect(await page.locator("table.attempts tbody tr").count()).toBe(2);
    await page.close();
  });

  it("shows a slow task running live, then finished, without reloading", async () => {
    const created = await rpc<{ rootId: string; tasks: Array<{ id: string; name: string }> }>("tasks.create", {
      tasks: [
        { name: "slow-tree", params: { executorId: "aggregate_results" }, dependencies: ["slow"] },
        { name: "slow", parentId: "slow-tree", params: { executorId: "gate", key: "slow" } },
      ],
    });
    const slow = created.tasks.find((t) => t.name === "slow")?.id as string;
    const page = await newPage();
    await page.goto(`${server.url}/ui/trees/${created.rootId}`);
    await page.waitForSelector(`.node[data-task-id="${slow}"][data-status="pending"]`);
    await rpc("tasks.execute", { taskId: created.rootId });
    await page.waitForSelector(`.node[data-task-id="${slow}"][data-status="in_progress"]`);
    await page.getByText("live: a run is going on").waitFor();
    await shot(page, "live-running");
    server.release("slow");
    await page.waitForSelector(`.node[data-task-id="${created.rootId}"][data-status="completed"]`);
    await page.getByText("idle").waitFor();
    await page.close();
  });

  it("cancels a running tree from the page after confirmation", async () => {
    const created = await rpc<{ rootId: string; tasks: Array<{ id: string; name: string }> }>("tasks.create", {
      tasks: [
        { name: "to-cancel", params: { executorId: "aggregate_results" }, dependencies: ["stuck"] },
        { name: "stuck", parentId: "to-cancel", params: { executorId: "gate", key: "never" } },
      ],
    });
    const stuck = created.tasks.find((t) => t.name === "stuck")?.id as string;
    await rpc("tasks.execute", { taskId: created.rootId });
    const page = await newPage();
    await page.goto(`${server.url}/ui/trees/${created.rootId}`);
    await page.waitForSelector(`.node[data-task-id="${stuck}"][data-status="in_progress"]`);
    await page.getByRole("button", { name: "Cancel tree" }).click();
    const dialog = page.locator("dialog[open]");
    await dialog.waitFor();
    // Escape keeps the tree as it is.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect((await treeStatuses(created.rootId))[stuck]).toBe("in_progress");
    await page.getByRole("button", { name: "Cancel tree" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Cancel tree" }).click();
    await page.waitForSelector(`.node[data-task-id="${stuck}"][data-status="cancelled"]`);
    await page.waitForSelector(`.node[data-task-id="${created.rootId}"][data-status="cancelled"]`);
    expect(await treeStatuses(created.rootId)).toEqual({ [created.rootId]: "cancelled", [stuck]: "cancelled" });
    await shot(page, "cancelled");
    await page.close();
  });

  it("copies a tree and runs the copy from the page", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/ui/trees/${nightlyRoot}`);
    await page.waitForSelector("body[data-tree-ready]");
    await page.getByRole("button", { name: "Copy and run…" }).first().click();
    const dialog = page.locator("dialog[open]");
    await dialog.getByLabel(/Full/).check();
    await dialog.getByRole("button", { name: "Copy and run" }).click();
    await page.waitForURL((u) => u.pathname.startsWith("/ui/trees/") && !u.pathname.endsWith(nightlyRoot));
    const copyRoot = decodeURIComponent(new URL(page.url()).pathname.split("/").pop() as string);
    await page.waitForSelector(`.node[data-task-id="${copyRoot}"][data-status="completed"]`);
    expect(Object.keys(await graphStatuses(page))).toHaveLength(7);
    await page.close();
  });

  it("shows the executors with their schemas, and the queue", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/ui/executors?id=echo`);
    const echo = page.locator("#executor-echo details[open]");
    await echo.waitFor();
    expect(await echo.innerText()).toContain('"n"');
    await shot(page, "executors");
    await page.getByRole("link", { name: "Queue" }).click();
    await page.waitForURL(/\/ui\/queue$/);
    await page.getByText("Busy slots").waitFor();
    expect(await page.locator(".planned").count()).toBe(3);
    // Timings come from the finished tasks of the trees above.
    expect(await page.locator(".timings").innerText()).toMatch(/median/);
    expect(await page.locator(".timings .spark .bar").count()).toBe(30);
    await shot(page, "queue");
    await page.close();
  });

  it("lays out and follows a 1,000-task tree without freezing the page (figures printed)", async () => {
    const last: string[] = [];
    const tasks: Array<Record<string, unknown>> = [
      { name: "big", params: { executorId: "aggregate_results" }, dependencies: last },
    ];
    for (let g = 0; g < 9; g++) {
      tasks.push({ name: `stage-${g}`, parentId: "big" });
      for (let i = 0; i < 110; i++) {
        tasks.push({
          name: `s${g}-${i}`,
          parentId: `stage-${g}`,
          params: { executorId: "echo" },
          inputs: { n: i },
          ...(i >= 10 ? { dependencies: [`s${g}-${i - 10}`] } : {}),
        });
      }
      for (let i = 100; i < 110; i++) last.push(`s${g}-${i}`);
    }
    expect(tasks.length).toBe(1000);
    const created = await rpc<{ rootId: string }>("tasks.create", { tasks });
    const page = await newPage();
    // A heartbeat on the page: the longest gap between 20 ms ticks is how long the page froze.
    await page.addInitScript(() => {
      const w = window as unknown as { __maxGap: number; __last: number };
      w.__maxGap = 0;
      w.__last = performance.now();
      setInterval(() => {
        const now = performance.now();
        w.__maxGap = Math.max(w.__maxGap, now - w.__last);
        w.__last = now;
      }, 20);
    });
    const started = Date.now();
    await page.goto(`${server.url}/ui/trees/${created.rootId}`);
    await page.waitForSelector('body[data-tree-ready="1000"]', { timeout: 120_000 });
    const loadMs = Date.now() - started;
    const measures = await page.evaluate(() =>
      performance.getEntriesByType("measure").map((m) => ({ name: m.name, duration: m.duration })),
    );
    const ready = measures.find((m) => m.name === "apflow:tree-ready")?.duration ?? Number.NaN;
    const layout = Number(
      measures
        .find((m) => m.name.startsWith("apflow:tree-layout:"))
        ?.name.split(":")
        .pop(),
    );
    const loadGap = await page.evaluate(() => (window as unknown as { __maxGap: number }).__maxGap);
    // Only what is in or near view is drawn; every drawn node shows the status the API has.
    const drawn = Number(await page.locator(".graph svg").getAttribute("data-drawn"));
    expect(drawn).toBeGreaterThan(10);
    expect(drawn).toBeLessThan(1000);
    const before = await treeStatuses(created.rootId);
    for (const [id, status] of Object.entries(await graphStatuses(page))) expect(before[id]).toBe(status);
    await page.locator('.tree-summary .count.status-pending[title="1000 pending"]').waitFor();

    await page.evaluate(() => {
      (window as unknown as { __maxGap: number }).__maxGap = 0;
    });
    const runStarted = Date.now();
    await rpc("tasks.execute", { taskId: created.rootId });
    await page.locator('.tree-summary .count.status-completed[title="1000 completed"]').waitFor({ timeout: 300_000 });
    const runMs = Date.now() - runStarted;
    const liveGap = await page.evaluate(() => (window as unknown as { __maxGap: number }).__maxGap);
    // Scrolled to the far right, the root (which needs everything) is drawn, completed.
    await page
      .locator(".graph-scroll")
      .evaluate((el) => el.scrollTo({ left: el.scrollWidth, top: el.scrollHeight / 2 }));
    await page.waitForSelector(`.node[data-task-id="${created.rootId}"][data-status="completed"]`);
    expect(Object.values(await graphStatuses(page)).every((s) => s === "completed")).toBe(true);
    await shot(page, "tree-1000");
    console.log(
      [
        "1,000-task tree in Chromium:",
        `  page open → graph drawn: ${loadMs} ms (data → painted ${ready.toFixed(0)} ms; layout in the worker ${layout} ms)`,
        `  longest main-thread stall while loading: ${loadGap.toFixed(0)} ms`,
        `  run of 1,000 tasks followed live: ${runMs} ms, longest main-thread stall ${liveGap.toFixed(0)} ms`,
      ].join("\n"),
    );
    await page.close();
  });

  it("says when the server is unreachable, and offers to try again", async () => {
    const page = await newPage();
    await page.goto(`${server.url}/ui/`);
    await page.locator("table.trees").waitFor();
    await page.route("**/tasks", (route) => route.abort("connectionrefused"));
    await page.goto(`${server.url}/ui/executors`);
    await page.getByText("The server is unreachable").waitFor();
    await shot(page, "unreachable");
    await page.unroute("**/tasks");
    await page.getByRole("button", { name: "Try again" }).click();
    await page.locator("#executor-echo").waitFor();
    // The refused requests are the only console errors of this page (Chromium logs each).
    for (let i = problems.length - 1; i >= 0; i--) {
      if (problems[i]?.includes("ERR_CONNECTION_REFUSED") || problems[i]?.includes("Failed to load resource")) {
        if (problems[i]?.includes("/ui/executors")) problems.splice(i, 1);
      }
    }
    await page.close();
  });

  it("with auth on, asks for a token, keeps it in session storage only, then shows the empty state", async () => {
    const secured = await startTestServer({ auth: true });
    try {
      const page = await newPage();
      const refused: string[] = [];
      page.on("response", (r) => {
        if (r.status() === 401) refused.push(r.url());
      });
      await page.goto(`${secured.url}/ui/`);
      // The public agent card says auth is on: the page asks before any request is refused.
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      expect(refused).toEqual([]);
      await shot(page, "auth-prompt");
      await page.getByLabel("Bearer token").fill("not-a-token");
      await page.getByRole("button", { name: "Use token" }).click();
      await page.getByText("The server refused that token").waitFor();
      const token = await secured.token("alice");
      await page.getByLabel("Bearer token").fill(token);
      await page.getByRole("button", { name: "Use token" }).click();
      await page.getByRole("heading", { name: "No trees yet" }).waitFor();
      expect(await page.locator(".state.empty").innerText()).toContain("pnpm apflow run examples/hello-world.json");
      const stored = await page.evaluate(() => ({
        session: sessionStorage.getItem("apflow.dashboard.token"),
        local: localStorage.length,
        cookie: document.cookie,
      }));
      expect(stored).toEqual({ session: token, local: 0, cookie: "" });
      await shot(page, "empty-after-sign-in");
      // Only the refused token was answered 401 (Chromium logs that one as a failed resource).
      expect(refused.length).toBeGreaterThan(0);
      expect(refused.every((u) => u.endsWith("/tasks"))).toBe(true);
      const tokenErrors = problems.filter((p) => p.includes("401"));
      expect(tokenErrors.length).toBe(refused.length);
      for (let i = problems.length - 1; i >= 0; i--) if (problems[i]?.includes("401")) problems.splice(i, 1);
      await page.close();
    } finally {
      await secured.close();
    }
  });

  it("logged no console errors on any page", () => {
    expect(problems).toEqual([]);
  });
});
