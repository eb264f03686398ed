// Shared helpers of the peers bench: service addresses, per-measurement databases, timing.
import pg from "pg";

export const PG_ADMIN_URL = process.env.APFLOW_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const REDIS_URL = process.env.APFLOW_BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

/** Concurrency of every worker process, lease/visibility of every system (the setup). */
export const CONCURRENCY = 10;
export const LEASE_MS = 5000;
/** How often each system looks for expired leases / stalled jobs, where it lets us choose. */
export const CHECK_MS = 1000;

/** The URL of a database on the bench server, optionally with an application name. */
export function dbUrl(name, application) {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  if (application) url.searchParams.set("application_name", application);
  return url.toString();
}

export async function admin(sql, params = []) {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export async function createDatabase(name) {
  await admin(`CREATE DATABASE ${name}`);
}

export async function dropDatabase(name) {
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

export function redisConnection() {
  const url = new URL(REDIS_URL);
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll `check` until it returns true: every `slowMs` until `fast()` says the end is near, then
 * every `fastMs`. Throws after `timeoutMs`.
 */
export async function waitFor(check, { slowMs = 100, fastMs = 5, fast = () => true, timeoutMs = 120_000 } = {}) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return performance.now();
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(fast() ? fastMs : slowMs);
  }
}

/** A small seeded generator (mulberry32), so every run sees the same idle gaps. */
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hash(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Keys of the jobs of a workload: `j0`, `j1`, … */
export function keys(n, prefix = "j") {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}`);
}

export function chunk(list, size) {
  const out = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}
