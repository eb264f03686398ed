import { type IncomingHttpHeaders, createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/**
 * A local HTTP receiver for webhooks and push notifications. `statusFor(n)` chooses the answer to
 * the n-th request (1-based); `until(pred)` resolves once a delivery satisfies `pred`.
 */
export async function startReceiver(statusFor: (n: number) => number = () => 200) {
  const deliveries: Delivery[] = [];
  const waiters: Array<{ pred: (d: Delivery) => boolean; resolve: () => void }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const status = statusFor(deliveries.length + 1);
      const d = { headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), status };
      deliveries.push(d);
      res.writeHead(status, { "content-type": "text/plain" }).end("ok");
      for (const w of [...waiters]) {
        if (w.pred(d)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    until(pred: (d: Delivery) => boolean): Promise<void> {
      if (deliveries.some(pred)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
