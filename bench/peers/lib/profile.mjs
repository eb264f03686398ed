// Summarise a V8 CPU profile (.cpuprofile): self time by place (our packages, the pg driver,
// Prisma, Node internals, …) and the functions with the most self time.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const SOCKET_WRITES = new Set(["writev", "writeBuffer", "writeUtf8String", "writeLatin1String", "writeAsciiString"]);

function place(url, fn) {
  if (!url && SOCKET_WRITES.has(fn)) return "socket writes (the write syscalls)";
  if (!url && fn === "(garbage collector)") return "garbage collector";
  if (!url) return "other native / V8";
  if (url.startsWith("node:")) return "node internals";
  const m = /\/packages\/([^/]+)\/dist\//.exec(url);
  if (m) return `ours: ${m[1]}`;
  const pkg = /node_modules\/\.pnpm\/([^/]+)\//.exec(url) ?? /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1].replace(/@[\d.]+(_.*)?$/, "").replace(/\+/g, "/");
  if (url.includes("/bench/peers/")) return "bench harness";
  return url;
}

export function summariseProfiles(dir, top = 15) {
  const self = new Map();
  const byFunction = new Map();
  let total = 0;
  let idle = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8"));
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const dt = profile.timeDeltas;
    for (let i = 0; i < profile.samples.length; i++) {
      const node = nodes.get(profile.samples[i]);
      const us = dt[i] ?? 0;
      const fn = node.callFrame.functionName || "(anonymous)";
      if (fn === "(idle)") {
        idle += us;
        continue;
      }
      total += us;
      const where = place(node.callFrame.url, fn);
      self.set(where, (self.get(where) ?? 0) + us);
      const key = `${fn} — ${where}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    }
  }
  const sorted = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]);
  return {
    busyMs: total / 1000,
    idleMs: idle / 1000,
    places: sorted(self).map(([where, us]) => ({ where, ms: us / 1000 })),
    functions: sorted(byFunction)
      .slice(0, top)
      .map(([fn, us]) => ({ fn, ms: us / 1000 })),
  };
}
