import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServerHandle, startServer } from "../server.js";
import { testApp } from "../testing/fixtures.js";

/** Over a real socket: the limit is checked from Content-Length, or counted for chunked bodies. */
describe("body limit behind @hono/node-server", () => {
  const { app, engine } = testApp({ bodyLimitBytes: 1024 });
  let server: ServerHandle;
  beforeAll(async () => {
    server = await startServer({ app, port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await engine.stop({ graceMs: 0 });
  });

  function send(body: string, chunked: boolean): Promise<{ status: number; body: any }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { "content-type": "application/json" };
      if (!chunked) headers["content-length"] = Buffer.byteLength(body);
      const req = request(`${server.url}/tasks`, { method: "POST", headers }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on("error", reject);
      if (chunked) {
        // Several writes without a length: Transfer-Encoding: chunked.
        for (let i = 0; i < body.length; i += 256) req.write(body.slice(i, i + 256));
      } else {
        req.write(body);
      }
      req.end();
    });
  }

  const small = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "system.health", params: { pad: "x".repeat(300) } });
  const big = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "system.health", params: { pad: "x".repeat(5000) } });

  it.each([false, true])("answers 413 for a body over the limit (chunked: %s)", async (chunked) => {
    const res = await send(big, chunked);
    expect(res.status).toBe(413);
    expect(res.body.error).toEqual({ code: -32600, message: "request body too large" });
  });

  it.each([false, true])("reads a body under the limit (chunked: %s)", async (chunked) => {
    const res = await send(small, chunked);
    expect(res.status).toBe(200);
    expect(res.body.result.status).toBe("ok");
  });
});
