import { ForbiddenError } from "@aipartnerupflow/core";
import { Hono } from "hono";
import type { AppEnv } from "../env.js";
import { httpStatusOf, toRpcError } from "../errors.js";
import type { QueueMetrics } from "./collector.js";

/**
 * `GET /metrics`: Prometheus text exposition. Behind the server's auth like the API; when auth is
 * on only admins may scrape it (the figures are deployment-wide), others get 403. With auth off
 * every caller is the local administrator.
 */
export function metricsRoutes(metrics: QueueMetrics): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/metrics", async (c) => {
    if (!c.get("principal")?.admin) {
      const error = toRpcError(new ForbiddenError("GET /metrics is for admins (its figures cover every user)"));
      return c.json({ error }, httpStatusOf(error.code) as 403);
    }
    const text = await metrics.render();
    return c.body(text, 200, { "content-type": metrics.contentType });
  });
  return app;
}
