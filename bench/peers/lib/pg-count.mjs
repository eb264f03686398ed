// Counts every statement this process sends to PostgreSQL (each `Client.query` is one round
// trip), grouped by statement, with the client-side time from send to result. Installed in a
// worker process before its store opens; the store's pool and Prisma's adapter both run on
// `pg.Client`, so nothing they send is missed.
import pg from "pg";

const stats = new Map();
let installed = false;

function label(text) {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > 90 ? `${one.slice(0, 87)}...` : one;
}

export function installQueryCounter() {
  if (installed) return;
  installed = true;
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function counted(config, values, callback) {
    const text = typeof config === "string" ? config : (config?.text ?? "?");
    let entry = stats.get(text);
    if (!entry) stats.set(text, (entry = { count: 0, ms: 0 }));
    entry.count++;
    const t0 = performance.now();
    const result = original.call(this, config, values, callback);
    if (result && typeof result.then === "function") {
      result.then(
        () => {
          entry.ms += performance.now() - t0;
        },
        () => {
          entry.ms += performance.now() - t0;
        },
      );
    }
    return result;
  };
}

export function resetQueryCounts() {
  stats.clear();
}

/** Statements sent since the last reset, most frequent first. */
export function queryCounts() {
  return [...stats.entries()]
    .map(([text, s]) => ({ statement: label(text), count: s.count, ms: s.ms }))
    .sort((a, b) => b.count - a.count);
}
