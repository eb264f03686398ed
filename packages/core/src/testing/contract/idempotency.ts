import { expect } from "vitest";
import { Engine } from "../../engine/engine.js";
import { ApflowError, ErrorCode } from "../../errors.js";
import type { IdempotencyStore } from "../../idempotency/types.js";
import { defineExecutor } from "../../registry/define.js";
import { Registry } from "../../registry/registry.js";
import type { TaskStore } from "../../store/types.js";
import type { JsonObject, Task } from "../../types.js";
import { ManualClock } from "../fault-store.js";
import { describeFacetContract, type FacetContractOptions } from "./facet-suite.js";
import { at, T0 } from "./support.js";

/**
 * The contract of the idempotency facet (`store.idempotency`): keys per user (reserve, record,
 * look up, take over, expire) and unique-tree reservations, first on the facet itself, then
 * through the engine (same key → same answer and one tree, other parameters → -32602, unique
 * trees in both scopes). Checks take a fresh, empty store.
 */
export interface IdempotencyCheck {
  name: string;
  run(store: TaskStore): Promise<void>;
}

const HOUR = 3_600_000;
const LEASE = 60_000;

function facet(store: TaskStore): IdempotencyStore {
  const idempotency = store.idempotency;
  if (!idempotency) throw new Error("this store has no idempotency facet (store.idempotency)");
  return idempotency;
}

const reserve = (
  f: IdempotencyStore,
  token: string,
  over: Partial<Parameters<IdempotencyStore["reserveKey"]>[0]> = {},
) =>
  f.reserveKey({
    userId: "u1",
    key: "k1",
    fingerprint: "fp-a",
    token,
    now: T0,
    leaseMs: LEASE,
    retentionMs: 24 * HOUR,
    ...over,
  });

async function refusal(p: Promise<unknown>): Promise<ApflowError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, "expected the call to be refused").toBeInstanceOf(ApflowError);
  return err as ApflowError;
}

/** An engine on `store` with a manual clock and an `echo` executor that counts its runs. */
function engineOn(store: TaskStore, clock = new ManualClock(T0)) {
  const runs: string[] = [];
  const registry = new Registry();
  registry.registerExecutor(
    defineExecutor({
      id: "echo",
      execute: (inputs: JsonObject, ctx) => {
        runs.push(ctx.task.name);
        return inputs;
      },
    }),
  );
  const engine = new Engine({ store, registry, clock: clock.now, pollIntervalMs: 20, concurrency: 2 });
  return { engine, runs, clock };
}

const tree = (name = "root", v = 1) => [{ name, params: { executorId: "echo" }, inputs: { v } }];

async function roots(store: TaskStore): Promise<number> {
  return (await store.listTasks({ rootsOnly: true })).total;
}

export const idempotencyContractChecks: IdempotencyCheck[] = [
  {
    name: "keys: the first reservation holds the key, a repeat sees it pending, then completed with the response",
    async run(store) {
      const f = facet(store);
      expect(await reserve(f, "t1")).toEqual({ outcome: "reserved" });
      const pending = await reserve(f, "t2", { now: at(10) });
      expect(pending.outcome).toBe("pending");
      if (pending.outcome === "pending") {
        expect(pending.fingerprint).toBe("fp-a");
        expect(pending.leaseUntil.toISOString()).toBe(at(LEASE).toISOString());
      }
      expect(await f.completeKey("u1", "k1", "t2", { rootId: "nope" }, at(20))).toBe(false);
      expect(await f.completeKey("u1", "k1", "t1", { rootId: "r1", n: [1, 2] }, at(20))).toBe(true);
      expect(await reserve(f, "t3", { now: at(30) })).toEqual({
        outcome: "completed",
        fingerprint: "fp-a",
        response: { rootId: "r1", n: [1, 2] },
      });
      // Other parameters: the record says which fingerprint it has, the caller refuses.
      const other = await reserve(f, "t4", { now: at(40), fingerprint: "fp-b" });
      expect(other).toMatchObject({ outcome: "completed", fingerprint: "fp-a" });
      const record = await f.getKey("u1", "k1", at(50));
      expect(record).toMatchObject({ userId: "u1", key: "k1", fingerprint: "fp-a", response: { rootId: "r1" } });
      expect(record?.createdAt.toISOString()).toBe(T0.toISOString());
      expect(record?.expiresAt.toISOString()).toBe(at(24 * HOUR).toISOString());
      expect(record?.leaseUntil).toBeNull();
      expect(await f.completeKey("u1", "k1", "t1", { rootId: "again" }, at(60))).toBe(false);
      expect((await f.getKey("u1", "k1", at(60)))?.response).toEqual({ rootId: "r1", n: [1, 2] });
    },
  },
  {
    name: "keys: per user (and the null user), and per key",
    async run(store) {
      const f = facet(store);
      expect((await reserve(f, "a")).outcome).toBe("reserved");
      expect((await reserve(f, "b", { userId: "u2" })).outcome).toBe("reserved");
      expect((await reserve(f, "c", { userId: null })).outcome).toBe("reserved");
      expect((await reserve(f, "d", { key: "k2" })).outcome).toBe("reserved");
      expect((await reserve(f, "e", { userId: null })).outcome).toBe("pending");
      await f.completeKey(null, "k1", "c", { who: "nobody" }, T0);
      expect((await f.getKey(null, "k1", T0))?.response).toEqual({ who: "nobody" });
      expect((await f.getKey("u2", "k1", T0))?.response).toBeNull();
      expect(await f.getKey("u3", "k1", T0)).toBeNull();
    },
  },
  {
    name: "keys: a released reservation is free again; a dead holder's lease is taken over (same fingerprint only)",
    async run(store) {
      const f = facet(store);
      await reserve(f, "t1");
      await f.releaseKey("u1", "k1", "someone-else");
      expect((await reserve(f, "t2", { now: at(1) })).outcome).toBe("pending");
      await f.releaseKey("u1", "k1", "t1");
      expect(await f.getKey("u1", "k1", at(2))).toBeNull();
      expect((await reserve(f, "t3", { now: at(3) })).outcome).toBe("reserved");
      // t3's holder dies: after its lease another attempt with the same parameters takes over.
      const later = at(3 + LEASE);
      expect((await reserve(f, "t4", { now: later, fingerprint: "fp-b" })).outcome).toBe("pending");
      expect((await reserve(f, "t5", { now: later })).outcome).toBe("reserved");
      expect(await f.completeKey("u1", "k1", "t3", { from: "t3" }, later)).toBe(false);
      expect(await f.completeKey("u1", "k1", "t5", { from: "t5" }, later)).toBe(true);
      // A completed key is never released.
      await f.releaseKey("u1", "k1", "t5");
      expect((await f.getKey("u1", "k1", later))?.response).toEqual({ from: "t5" });
    },
  },
  {
    name: "keys: expired keys are forgotten, removed by expire(), and free for a new request",
    async run(store) {
      const f = facet(store);
      await reserve(f, "t1", { retentionMs: HOUR });
      await f.completeKey("u1", "k1", "t1", { v: 1 }, T0);
      await reserve(f, "t2", { key: "k2", retentionMs: 3 * HOUR });
      expect(await f.getKey("u1", "k1", at(HOUR - 1))).not.toBeNull();
      expect(await f.getKey("u1", "k1", at(HOUR))).toBeNull();
      expect(await f.expire(at(HOUR))).toBe(1);
      expect(await f.expire(at(HOUR))).toBe(0);
      expect(await f.getKey("u1", "k2", at(HOUR))).not.toBeNull();
      // Expired but not yet removed: a new request takes the key afresh.
      expect((await reserve(f, "t3", { key: "k2", now: at(3 * HOUR), fingerprint: "fp-new" })).outcome).toBe(
        "reserved",
      );
      expect((await f.getKey("u1", "k2", at(3 * HOUR)))?.fingerprint).toBe("fp-new");
      expect((await reserve(f, "t4", { now: at(2 * HOUR), fingerprint: "fp-other" })).outcome).toBe("reserved");
    },
  },
  {
    name: "unique: the first claim holds the key; others see it; replace only the named holder; release",
    async run(store) {
      const f = facet(store);
      const claim = (rootId: string, over: Partial<Parameters<IdempotencyStore["claimUnique"]>[0]> = {}) =>
        f.claimUnique({ owner: "u1", uniqueKey: "nightly", rootId, scope: "active", until: null, now: T0, ...over });
      expect(await claim("r1")).toEqual({ claimed: true });
      const seen = await claim("r2", { now: at(5) });
      expect(seen.claimed).toBe(false);
      if (!seen.claimed) {
        expect(seen.existing).toMatchObject({ owner: "u1", uniqueKey: "nightly", rootId: "r1", scope: "active" });
        expect(seen.existing.createdAt.toISOString()).toBe(T0.toISOString());
        expect(seen.existing.until).toBeNull();
      }
      expect((await claim("r2", { replace: "r0" })).claimed).toBe(false);
      expect(await claim("r2", { replace: "r1", now: at(9) })).toEqual({ claimed: true });
      expect((await f.getUnique("u1", "nightly"))?.rootId).toBe("r2");
      expect(await claim("r3", { owner: "u2" })).toEqual({ claimed: true });
      expect(await claim("r4", { owner: null })).toEqual({ claimed: true });
      await f.releaseUnique("u1", "nightly", "r1");
      expect((await f.getUnique("u1", "nightly"))?.rootId).toBe("r2");
      await f.releaseUnique("u1", "nightly", "r2");
      expect(await f.getUnique("u1", "nightly")).toBeNull();
      // A period reservation is removed by expire() once its period is over.
      await claim("r5", { uniqueKey: "hourly", scope: "period", until: at(HOUR) });
      expect((await f.getUnique("u1", "hourly"))?.until?.toISOString()).toBe(at(HOUR).toISOString());
      expect(await f.expire(at(HOUR - 1))).toBe(0);
      expect(await f.expire(at(HOUR))).toBe(1);
      expect(await f.getUnique("u1", "hourly")).toBeNull();
      expect((await f.getUnique(null, "nightly"))?.rootId).toBe("r4");
    },
  },
  {
    name: "engine: the same key and parameters create one tree and answer the first response",
    async run(store) {
      const { engine } = engineOn(store);
      const first = await engine.create(tree(), { userId: "u1", idempotencyKey: "order-1" }, "single");
      const again = await engine.create(tree(), { userId: "u1", idempotencyKey: "order-1" }, "single");
      expect(first.replayed).toBe(false);
      expect(again.replayed).toBe(true);
      expect(again.rootIds).toEqual(first.rootIds);
      expect(again.trees[0]?.map((t) => t.id)).toEqual(first.trees[0]?.map((t) => t.id));
      expect((await engine.createTree(tree(), { userId: "u1", idempotencyKey: "order-1" }))[0]?.id).toBe(
        first.rootIds[0],
      );
      expect(await roots(store)).toBe(1);
      // Another user's same key is another request.
      await engine.createTree(tree(), { userId: "u2", idempotencyKey: "order-1" });
      expect(await roots(store)).toBe(2);
    },
  },
  {
    name: "engine: the same key with other parameters is refused with -32602 naming idempotencyKey",
    async run(store) {
      const { engine } = engineOn(store);
      await engine.createTree(tree("root", 1), { userId: "u1", idempotencyKey: "k" });
      const err = await refusal(engine.createTree(tree("root", 2), { userId: "u1", idempotencyKey: "k" }));
      expect(err.code).toBe(ErrorCode.InvalidParams);
      expect(err.message).toContain("idempotencyKey");
      expect(JSON.stringify(err.data)).toContain('"path":"idempotencyKey"');
      // A create key reused for an execution is other parameters too.
      const root = (await store.listTasks({ rootsOnly: true })).tasks[0] as Task;
      expect((await refusal(engine.execute(root.id, { userId: "u1", idempotencyKey: "k" }))).code).toBe(
        ErrorCode.InvalidParams,
      );
      for (const bad of ["", "x".repeat(201), "line\nbreak"]) {
        const e = await refusal(engine.createTree(tree(), { idempotencyKey: bad }));
        expect(e.code).toBe(ErrorCode.InvalidParams);
        expect(JSON.stringify(e.data)).toContain("idempotencyKey");
      }
      expect(await roots(store)).toBe(1);
      await engine.stop();
    },
  },
  {
    name: "engine: execute with a key runs once; a repeat (also concurrent) answers the same execution",
    async run(store) {
      const { engine, runs } = engineOn(store);
      const root = (await engine.createTree(tree()))[0] as Task;
      const [a, b] = await Promise.all([
        engine.execute(root.id, { idempotencyKey: "run-1" }),
        engine.execute(root.id, { idempotencyKey: "run-1" }),
      ]);
      expect(b.execution.id).toBe(a.execution.id);
      expect([a.replayed ?? false, b.replayed ?? false].sort()).toEqual([false, true]);
      expect((await a.done).status).toBe("completed");
      const c = await engine.execute(root.id, { idempotencyKey: "run-1" });
      expect(c.replayed).toBe(true);
      expect(c.execution.id).toBe(a.execution.id);
      expect((await c.done).status).toBe("completed");
      const types = [];
      for await (const e of c.events()) types.push(e.type);
      expect(types[0]).toBe("tree.started");
      expect(types.at(-1)).toBe("tree.finished");
      expect(runs).toEqual(["root"]);
      expect(await store.listExecutions({ rootId: root.id })).toHaveLength(1);
      // A copy under a key is stored once.
      const copy1 = (await engine.copy(root.id, { idempotencyKey: "copy-1" })) as Task[];
      const copy2 = (await engine.copy(root.id, { idempotencyKey: "copy-1" })) as Task[];
      expect(copy2[0]?.id).toBe(copy1[0]?.id);
      expect(await roots(store)).toBe(2);
      await engine.stop();
    },
  },
  {
    name: "engine: keys expire after the retention, and expired ones are removed",
    async run(store) {
      const clock = new ManualClock(T0);
      const registry = new Registry();
      const engine = new Engine({ store, registry, clock: clock.now, idempotency: { retentionMs: HOUR } });
      const first = await engine.createTree([{ name: "r" }], { idempotencyKey: "daily" });
      clock.advance(HOUR - 1);
      expect((await engine.createTree([{ name: "r" }], { idempotencyKey: "daily" }))[0]?.id).toBe(first[0]?.id);
      clock.advance(1);
      const second = await engine.createTree([{ name: "r" }], { idempotencyKey: "daily" });
      expect(second[0]?.id).not.toBe(first[0]?.id);
      clock.advance(HOUR);
      expect(await engine.idempotency?.purge()).toBe(1);
      expect(await facet(store).getKey(null, "daily", clock.now())).toBeNull();
    },
  },
  {
    name: "engine: unique trees (active): no second tree while the first is unfinished; a new one after",
    async run(store) {
      const { engine } = engineOn(store);
      const spec = [{ ...tree("nightly")[0], uniqueKey: "nightly", unique: { scope: "active" } }];
      const first = await engine.create(spec, { userId: "u1" }, "single");
      expect(first.existing).toEqual([]);
      const again = await engine.create(spec, { userId: "u1" }, "single");
      expect(again.existing).toEqual(first.rootIds);
      expect(again.rootIds).toEqual(first.rootIds);
      expect(await roots(store)).toBe(1);
      // Another owner has its own key.
      expect((await engine.create(spec, { userId: "u2" }, "single")).existing).toEqual([]);
      // Running: still held.
      const handle = await engine.execute(first.rootIds[0] as string);
      await handle.done;
      const after = await engine.create(spec, { userId: "u1" }, "single");
      expect(after.existing).toEqual([]);
      expect(after.rootIds[0]).not.toBe(first.rootIds[0]);
      expect(await roots(store)).toBe(3);
      // A uniqueKey on a child, or a bad scope, is refused.
      const child = [{ name: "r" }, { name: "c", parentId: "r", uniqueKey: "x" }];
      expect((await refusal(engine.createTree(child))).code).toBe(ErrorCode.InvalidParams);
      const bad = [{ name: "r", uniqueKey: "x", unique: { scope: "period" } }];
      expect((await refusal(engine.createTree(bad))).code).toBe(ErrorCode.InvalidParams);
      await engine.stop();
    },
  },
  {
    name: "engine: unique trees (period): one tree per period, finished or not",
    async run(store) {
      const { engine, clock } = engineOn(store);
      const spec = [{ ...tree("hourly")[0], uniqueKey: "hourly", unique: { scope: "period", periodMs: HOUR } }];
      const first = await engine.create(spec, {}, "single");
      await (await engine.execute(first.rootIds[0] as string)).done;
      clock.advance(HOUR - 1);
      const within = await engine.create(spec, {}, "single");
      expect(within.existing).toEqual(first.rootIds);
      clock.advance(1);
      const next = await engine.create(spec, {}, "single");
      expect(next.existing).toEqual([]);
      expect(next.rootIds[0]).not.toBe(first.rootIds[0]);
      // Two roots of one request with the same key: one tree.
      clock.advance(HOUR);
      const both = await engine.create(
        [
          { ...spec[0], name: "a" },
          { ...spec[0], name: "b" },
        ],
        {},
        "many",
      );
      expect(both.rootIds[0]).toBe(both.rootIds[1]);
      expect(await roots(store)).toBe(3);
      await engine.stop();
    },
  },
];

export type IdempotencyContractOptions = FacetContractOptions;

/** Run the idempotency facet contract as a vitest suite; every check gets a fresh store. */
export function describeIdempotencyContract(
  name: string,
  createStore: () => Promise<TaskStore> | TaskStore,
  options: IdempotencyContractOptions = {},
): void {
  describeFacetContract(
    `IdempotencyStore contract: ${name}`,
    idempotencyContractChecks,
    createStore,
    options,
    (store) => store,
  );
}
