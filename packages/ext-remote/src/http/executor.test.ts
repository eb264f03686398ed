import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { Engine, MemoryStore, Registry, TaskFailure } from "@aipartnerupflow/core";
import { createExecutorContext } from "@aipartnerupflow/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RemoteOptions, resolveRemoteConfig } from "../config.js";
import { remotePlugin } from "../plugin.js";
import { executeHttp } from "./executor.js";

let server: Server;
let base: string;
let port: number;
const held: ServerResponse[] = [];
let closedByClient = 0;

function handler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://x");
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const route = url.pathname;
    if (route === "/json") {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "x-one": "1" });
      res.end(JSON.stringify({ hello: "world", n: 3 }));
    } else if (route === "/text") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("plain words");
    } else if (route.startsWith("/status/")) {
      res.writeHead(Number(route.slice(8)), { "content-type": "text/plain" });
      res.end(`failure body ${"x".repeat(5000)}`);
    } else if (route === "/big") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("y".repeat(5000));
    } else if (route === "/big-chunked") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("z".repeat(3000));
      res.end("z".repeat(3000));
    } else if (route === "/slow") {
      res.on("close", () => closedByClient++);
      held.push(res);
    } else if (route === "/redirect") {
      res.writeHead(302, { location: url.searchParams.get("to") ?? "/json" });
      res.end();
    } else if (route === "/post-redirect") {
      res.writeHead(303, { location: "/echo" });
      res.end();
    } else if (route === "/loop") {
      res.writeHead(302, { location: "/loop" });
      res.end();
    } else if (route === "/echo") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          method: req.method,
          query: Object.fromEntries(url.searchParams),
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    } else if (route === "/gzip") {
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      res.end(gzipSync(JSON.stringify({ zipped: true })));
    } else if (route === "/binary") {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(Buffer.from([0, 1, 2, 255]));
    } else if (route === "/bad-json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{not json");
    } else {
      res.writeHead(404);
      res.end("no such route");
    }
  });
}

beforeAll(async () => {
  server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  for (const res of held) res.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** DNS for the tests: `loopback.test` resolves to 127.0.0.1, `public.test` to a public address. */
const resolve = async (host: string) => {
  if (host === "loopback.test") return [{ address: "127.0.0.1", family: 4 }];
  if (host === "metadata.test") return [{ address: "169.254.169.254", family: 4 }];
  throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" });
};

function config(options: RemoteOptions = {}) {
  return resolveRemoteConfig({ allowHosts: [`127.0.0.1:${port}`], resolve, ...options }, {});
}

async function failure(promise: Promise<unknown>): Promise<TaskFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskFailure);
  return err as TaskFailure;
}

describe("http executor against a real local server", () => {
  it("returns status, headers and parsed JSON", async () => {
    const result = await executeHttp({ url: `${base}/json` }, createExecutorContext(), config());
    expect(result).toMatchObject({
      status: 200,
      body: { hello: "world", n: 3 },
      bodyEncoding: "json",
      url: `${base}/json`,
    });
    expect(result.headers["x-one"]).toBe("1");
    // Hop-by-hop headers are not part of the result.
    expect(result.headers.connection).toBeUndefined();
    expect(result.headers["keep-alive"]).toBeUndefined();
  });

  it("returns text as text, binary as base64, decompresses gzip, HEAD has no body", async () => {
    const ctx = createExecutorContext();
    expect(await executeHttp({ url: `${base}/text` }, ctx, config())).toMatchObject({
      body: "plain words",
      bodyEncoding: "text",
    });
    expect(await executeHttp({ url: `${base}/binary` }, ctx, config())).toMatchObject({
      body: Buffer.from([0, 1, 2, 255]).toString("base64"),
      bodyEncoding: "base64",
    });
    expect(await executeHttp({ url: `${base}/gzip` }, ctx, config())).toMatchObject({ body: { zipped: true } });
    expect(await executeHttp({ url: `${base}/json`, method: "HEAD" }, ctx, config())).toMatchObject({
      status: 200,
      body: null,
      bodyEncoding: "none",
    });
  });

  it("sends method, query, JSON body, headers and each auth kind; secrets come from ctx.secrets", async () => {
    const ctx = createExecutorContext({ secrets: { tok: "s3cret", pw: "hunter2" } });
    const bearer = await executeHttp(
      {
        url: `${base}/echo?a=1`,
        method: "POST",
        query: { b: 2, c: [true, "x"] },
        json: { item: "widget" },
        headers: { "x-team": "blue", "x-key": { secret: "tok" } },
        auth: { type: "bearer", token: { secret: "tok" } },
      },
      ctx,
      config(),
    );
    const echoed = bearer.body as {
      method: string;
      query: Record<string, string>;
      headers: Record<string, string>;
      body: string;
    };
    expect(echoed.method).toBe("POST");
    expect(echoed.query).toEqual({ a: "1", b: "2", c: "x" });
    expect(JSON.parse(echoed.body)).toEqual({ item: "widget" });
    expect(echoed.headers["content-type"]).toBe("application/json");
    expect(echoed.headers.authorization).toBe("Bearer s3cret");
    expect(echoed.headers["x-key"]).toBe("s3cret");
    expect(echoed.headers["x-team"]).toBe("blue");

    const basic = await executeHttp(
      { url: `${base}/echo`, auth: { type: "basic", username: "ann", password: { secret: "pw" } } },
      ctx,
      config(),
    );
    expect((basic.body as { headers: Record<string, string> }).headers.authorization).toBe(
      `Basic ${Buffer.from("ann:hunter2").toString("base64")}`,
    );
    const inQuery = await executeHttp(
      { url: `${base}/echo`, auth: { type: "apikey", name: "api_key", value: "k1", in: "query" } },
      ctx,
      config(),
    );
    expect((inQuery.body as { query: Record<string, string> }).query.api_key).toBe("k1");
    const inHeader = await executeHttp(
      {
        url: `${base}/echo`,
        method: "PUT",
        body: "raw text",
        auth: { type: "apikey", name: "x-api-key", value: "k2" },
      },
      ctx,
      config(),
    );
    const put = inHeader.body as { method: string; body: string; headers: Record<string, string> };
    expect(put).toMatchObject({ method: "PUT", body: "raw text" });
    expect(put.headers["x-api-key"]).toBe("k2");
  });

  it("fails a status outside okStatus with HTTP_STATUS, the status and a bounded excerpt in details", async () => {
    const err = await failure(executeHttp({ url: `${base}/status/503` }, createExecutorContext(), config()));
    expect(err.code).toBe("HTTP_STATUS");
    expect(err.retryable).toBe(true);
    const details = err.details as { status: number; bodyExcerpt: string };
    expect(details.status).toBe(503);
    expect(details.bodyExcerpt.startsWith("failure body x")).toBe(true);
    expect(details.bodyExcerpt.length).toBe(2048);
    // okStatus widens (or narrows) what succeeds.
    const ok = await executeHttp({ url: `${base}/status/404`, okStatus: [404] }, createExecutorContext(), config());
    expect(ok.status).toBe(404);
    const narrowed = await failure(
      executeHttp({ url: `${base}/json`, okStatus: [201] }, createExecutorContext(), config()),
    );
    expect(narrowed.code).toBe("HTTP_STATUS");
  });

  it("bounds the response by maxResponseBytes, declared or streamed", async () => {
    const declared = await failure(
      executeHttp({ url: `${base}/big`, maxResponseBytes: 1000 }, createExecutorContext(), config()),
    );
    expect(declared.code).toBe("HTTP_RESPONSE_TOO_LARGE");
    expect(declared.details).toMatchObject({ maxResponseBytes: 1000 });
    const streamed = await failure(
      executeHttp({ url: `${base}/big-chunked`, maxResponseBytes: 4000 }, createExecutorContext(), config()),
    );
    expect(streamed.code).toBe("HTTP_RESPONSE_TOO_LARGE");
    // The operator's ceiling wins over a task's larger bound.
    const capped = await failure(
      executeHttp(
        { url: `${base}/big`, maxResponseBytes: 1_000_000 },
        createExecutorContext(),
        config({ http: { maxResponseBytes: 100 } }),
      ),
    );
    expect(capped.details).toMatchObject({ maxResponseBytes: 100 });
    expect(
      (await executeHttp({ url: `${base}/big`, maxResponseBytes: 5000 }, createExecutorContext(), config())).body,
    ).toHaveLength(5000);
  });

  it("times out with HTTP_TIMEOUT and closes the connection", async () => {
    const before = closedByClient;
    const err = await failure(executeHttp({ url: `${base}/slow`, timeoutMs: 200 }, createExecutorContext(), config()));
    expect(err.code).toBe("HTTP_TIMEOUT");
    expect(err.details).toMatchObject({ timeoutMs: 200 });
    await expect.poll(() => closedByClient).toBeGreaterThan(before);
  });

  it("aborts the request when the task's signal fires (the signal's reason is rethrown)", async () => {
    const before = closedByClient;
    const ctx = createExecutorContext();
    const heldBefore = held.length;
    const pending = executeHttp({ url: `${base}/slow` }, ctx, config());
    await expect.poll(() => held.length).toBeGreaterThan(heldBefore);
    const reason = new Error("cancelled by the test");
    ctx.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect.poll(() => closedByClient).toBeGreaterThan(before);
  });

  it("network errors fail with HTTP_NETWORK_ERROR naming the errno", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await failure(
      executeHttp(
        { url: `http://127.0.0.1:${deadPort}/` },
        createExecutorContext(),
        config({ allowHosts: [`127.0.0.1:${deadPort}`] }),
      ),
    );
    expect(err.code).toBe("HTTP_NETWORK_ERROR");
    expect(err.details).toMatchObject({ errno: "ECONNREFUSED" });
    const dns = await failure(executeHttp({ url: "http://nowhere.test/" }, createExecutorContext(), config()));
    expect(dns.code).toBe("HTTP_NETWORK_ERROR");
    expect(dns.details).toMatchObject({ errno: "ENOTFOUND" });
  });

  it("follows redirects on the allowed host, 303 turns POST into GET, loops end with HTTP_TOO_MANY_REDIRECTS", async () => {
    const followed = await executeHttp({ url: `${base}/redirect?to=/json` }, createExecutorContext(), config());
    expect(followed).toMatchObject({ status: 200, url: `${base}/json`, body: { hello: "world" } });
    const seeOther = await executeHttp(
      { url: `${base}/post-redirect`, method: "POST", json: { a: 1 } },
      createExecutorContext(),
      config(),
    );
    expect((seeOther.body as { method: string; body: string }).method).toBe("GET");
    expect((seeOther.body as { body: string }).body).toBe("");
    const manual = await executeHttp(
      { url: `${base}/redirect?to=/json`, followRedirects: false, okStatus: [302] },
      createExecutorContext(),
      config(),
    );
    expect(manual.status).toBe(302);
    expect(manual.headers.location).toBe("/json");
    const loop = await failure(executeHttp({ url: `${base}/loop` }, createExecutorContext(), config()));
    expect(loop.code).toBe("HTTP_TOO_MANY_REDIRECTS");
  });
});

describe("http outbound safety", () => {
  it("refuses loopback, private, link-local and metadata literals with OUTBOUND_REFUSED", async () => {
    const safe = resolveRemoteConfig({ resolve }, {});
    for (const url of [
      base,
      "http://10.0.0.1/",
      "http://192.168.1.1/",
      "http://169.254.169.254/latest/meta-data",
      "http://[::1]/",
      "http://[::ffff:127.0.0.1]/",
      "http://0.0.0.0/",
    ]) {
      const err = await failure(executeHttp({ url }, createExecutorContext(), safe));
      expect(err.code, url).toBe("OUTBOUND_REFUSED");
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/internal address/);
    }
  });

  it("refuses names that resolve to loopback or metadata addresses (localhost too), after DNS resolution", async () => {
    const safe = resolveRemoteConfig({ resolve }, {});
    const viaDns = await failure(
      executeHttp({ url: `http://loopback.test:${port}/json` }, createExecutorContext(), safe),
    );
    expect(viaDns.code).toBe("OUTBOUND_REFUSED");
    expect(viaDns.message).toMatch(/resolves to 127\.0\.0\.1/);
    const metadata = await failure(executeHttp({ url: "http://metadata.test/" }, createExecutorContext(), safe));
    expect(metadata.message).toMatch(/169\.254\.169\.254/);
    // The real resolver: localhost (by name) is refused before any lookup.
    const real = resolveRemoteConfig({}, {});
    for (const url of [
      `http://localhost:${port}/json`,
      `http://LOCALHOST.:${port}/`,
      `http://api.localhost:${port}/`,
    ]) {
      expect((await failure(executeHttp({ url }, createExecutorContext(), real))).code, url).toBe("OUTBOUND_REFUSED");
    }
  });

  it("refuses a redirect from an allowed host to a private, metadata or other internal address", async () => {
    for (const to of [
      "http://10.0.0.1/x",
      "http://169.254.169.254/latest/meta-data",
      `http://127.0.0.1:${port + 1}/`,
      "http://metadata.test/",
    ]) {
      const err = await failure(
        executeHttp({ url: `${base}/redirect?to=${encodeURIComponent(to)}` }, createExecutorContext(), config()),
      );
      expect(err.code, to).toBe("OUTBOUND_REFUSED");
      expect(err.message).toMatch(/redirect/);
    }
  });

  it("the allow-list admits host or host:port, from options or APFLOW_OUTBOUND_ALLOW_HOSTS, and pins the name", async () => {
    const byName = resolveRemoteConfig(
      { resolve },
      { APFLOW_OUTBOUND_ALLOW_HOSTS: `other.test, loopback.test:${port}` },
    );
    // Allowed by name: resolved normally (the test resolver is for the check only), so use 127.0.0.1 here.
    const byEnv = resolveRemoteConfig({}, { APFLOW_OUTBOUND_ALLOW_HOSTS: `127.0.0.1:${port}` });
    expect((await executeHttp({ url: `${base}/json` }, createExecutorContext(), byEnv)).status).toBe(200);
    const wrongPort = resolveRemoteConfig({}, { APFLOW_OUTBOUND_ALLOW_HOSTS: `127.0.0.1:${port + 1}` });
    expect((await failure(executeHttp({ url: `${base}/json` }, createExecutorContext(), wrongPort))).code).toBe(
      "OUTBOUND_REFUSED",
    );
    const anyPort = resolveRemoteConfig({}, { APFLOW_OUTBOUND_ALLOW_HOSTS: "127.0.0.1" });
    expect((await executeHttp({ url: `${base}/json` }, createExecutorContext(), anyPort)).status).toBe(200);
    expect(byName.allowHosts).toEqual(["other.test", `loopback.test:${port}`]);
  });

  it("refuses bad input with typed errors: hop-by-hop headers, missing secrets, non-http URLs, body on GET", async () => {
    const header = await failure(
      executeHttp({ url: `${base}/json`, headers: { Host: "evil" } }, createExecutorContext(), config()),
    );
    expect(header.code).toBe("HEADER_NOT_ALLOWED");
    const secret = await failure(
      executeHttp(
        { url: `${base}/json`, auth: { type: "bearer", token: { secret: "absent" } } },
        createExecutorContext(),
        config(),
      ),
    );
    expect(secret.code).toBe("SECRET_MISSING");
    expect(secret.details).toMatchObject({ secret: "absent", field: "inputs.auth.token" });
    const scheme = await failure(executeHttp({ url: "file:///etc/passwd" }, createExecutorContext(), config()));
    expect(scheme.code).toBe("INVALID_INPUTS");
    const getBody = await failure(executeHttp({ url: `${base}/json`, body: "x" }, createExecutorContext(), config()));
    expect(getBody.code).toBe("INVALID_INPUTS");
    const crlf = await failure(
      executeHttp({ url: `${base}/json`, headers: { "x-a": "1\r\nx-b: 2" } }, createExecutorContext(), config()),
    );
    expect(crlf.code).toBe("INVALID_INPUTS");
    const badJson = await failure(executeHttp({ url: `${base}/bad-json` }, createExecutorContext(), config()));
    expect(badJson.code).toBe("HTTP_INVALID_JSON");
  });

  it("keeps secrets out of failure messages and details", async () => {
    const ctx = createExecutorContext({ secrets: { k: "topsecretvalue" } });
    const err = await failure(
      executeHttp(
        { url: "http://10.0.0.1/", auth: { type: "apikey", name: "key", value: { secret: "k" }, in: "query" } },
        ctx,
        config(),
      ),
    );
    expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain("topsecretvalue");
  });
});

describe("http inside a real tree", () => {
  it("feeds its result to a dependent task, retries HTTP_STATUS by retryOn, and runs the demo result in demo mode", async () => {
    const registry = new Registry();
    await registry.use(remotePlugin, { allowHosts: [`127.0.0.1:${port}`] });
    const engine = new Engine({ store: new MemoryStore(), registry, pollIntervalMs: 50 });
    try {
      const outcome = await engine.runTree([
        { id: "root", name: "root", params: { executorId: "aggregate_results" }, dependencies: ["get", "flaky"] },
        { id: "get", name: "get", parentId: "root", params: { executorId: "http" }, inputs: { url: `${base}/json` } },
        {
          id: "flaky",
          name: "flaky",
          parentId: "root",
          params: { executorId: "http" },
          inputs: { url: `${base}/status/502` },
          retry: { maxAttempts: 2, backoff: { type: "fixed", delayMs: 10 }, retryOn: ["HTTP_STATUS"] },
        },
      ]);
      const flaky = outcome.tasks.find((t) => t.id === "flaky");
      expect(flaky?.status).toBe("failed");
      expect(flaky?.error?.code).toBe("HTTP_STATUS");
      expect(flaky?.attempt).toBe(2);
      const get = outcome.tasks.find((t) => t.id === "get");
      expect(get?.result).toMatchObject({ status: 200, body: { hello: "world" } });
      expect(registry.listExecutors().find((e) => e.id === "http")?.inputSchema).toMatchObject({ type: "object" });

      const demo = await engine.runTree(
        [{ id: "d", name: "d", params: { executorId: "http" }, inputs: { url: "https://api.example.com/x" } }],
        {
          demo: true,
        },
      );
      expect(demo.tasks[0]?.result).toMatchObject({ status: 200, body: { demo: true } });
    } finally {
      await engine.stop({ graceMs: 1000 });
    }
  });
});
