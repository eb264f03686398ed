import { createServer } from "node:http";
import { request } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import {
  OutboundPolicy,
  OutboundRefused,
  isInternalAddress,
  parseAllowEntry,
  parseHostList,
  pinnedLookup,
} from "./outbound.js";

describe("isInternalAddress", () => {
  it("refuses loopback, private, link-local, metadata, mapped and unspecified addresses", () => {
    for (const ip of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "0.0.0.0",
      "::1",
      "::",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "[::1]",
      "not-an-ip",
    ]) {
      expect(isInternalAddress(ip), ip).toBe(true);
    }
  });
  it("accepts public addresses", () => {
    for (const ip of ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"])
      expect(isInternalAddress(ip), ip).toBe(false);
  });
});

describe("allow-list entries", () => {
  it("parses host, host:port and [v6]:port, dropping blanks and junk", () => {
    expect(parseHostList(" a.example , 127.0.0.1:9000,, [::1]:80 ")).toEqual([
      "a.example",
      "127.0.0.1:9000",
      "[::1]:80",
    ]);
    expect(parseAllowEntry("API.example:8443")).toEqual({ host: "api.example", port: 8443 });
    expect(parseAllowEntry("[::1]:80")).toEqual({ host: "::1", port: 80 });
    expect(parseAllowEntry("::1")).toEqual({ host: "::1", port: undefined });
    expect(parseAllowEntry("http://x/")).toBeUndefined();
  });
});

describe("OutboundPolicy", () => {
  const resolve = async (host: string) =>
    host === "inside.test" ? [{ address: "10.0.0.5", family: 4 }] : [{ address: "93.184.216.34", family: 4 }];

  it("refuses internal literals, localhost and names resolving inside, after resolution", async () => {
    const policy = new OutboundPolicy({ resolve });
    await expect(policy.addresses(new URL("http://127.0.0.1/"))).rejects.toBeInstanceOf(OutboundRefused);
    await expect(policy.addresses(new URL("http://localhost:80/"))).rejects.toThrow(/internal address/);
    await expect(policy.addresses(new URL("http://inside.test/"))).rejects.toThrow(/resolves to 10\.0\.0\.5/);
    await expect(policy.addresses(new URL("ftp://outside.test/"))).rejects.toThrow(/http\(s\)/);
    expect(await policy.addresses(new URL("http://outside.test/"))).toEqual([{ address: "93.184.216.34", family: 4 }]);
    expect(await policy.problem("http://inside.test/", "hook")).toMatch(/^hook host inside\.test/);
    expect(await policy.problem("nope", "hook")).toBe("hook is not a valid URL");
  });

  it("lets allow-listed hosts through, by port when the entry names one", async () => {
    const policy = new OutboundPolicy({ allowHosts: ["inside.test", "127.0.0.1:9000"], resolve });
    expect(await policy.addresses(new URL("http://inside.test/"))).toBeUndefined();
    expect(await policy.addresses(new URL("http://127.0.0.1:9000/"))).toBeUndefined();
    await expect(policy.addresses(new URL("http://127.0.0.1:9001/"))).rejects.toBeInstanceOf(OutboundRefused);
  });

  it("pinnedLookup sends the connection to the checked address whatever the name", async () => {
    const server = createServer((_req, res) => res.end("pinned"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    try {
      const body = await new Promise<string>((resolveBody, reject) => {
        const req = request(
          `http://name-that-does-not-exist.invalid:${port}/`,
          { lookup: pinnedLookup([{ address: "127.0.0.1", family: 4 }]) },
          (res) => {
            let text = "";
            res.on("data", (c) => (text += c));
            res.on("end", () => resolveBody(text));
          },
        );
        req.on("error", reject);
        req.end();
      });
      expect(body).toBe("pinned");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
