import { afterEach, describe, expect, it } from "vitest";
import { Engine, type EngineOptions } from "../engine/engine.js";
import { LocalEventBus } from "../engine/event-bus.js";
import { NonRetryableError, TaskFailure } from "../errors.js";
import { defineExecutor } from "../registry/define.js";
import { Registry } from "../registry/registry.js";
import type { TaskStore } from "../store/types.js";
import type { JsonObject, JsonValue, Task, TaskEvent, TaskInput, TreeOutcome } from "../types.js";
import { z } from "zod";
import { FaultInjectingStore, gate, ManualClock } from "./fault-store.js";
import { describeWaitSuite } from "./engine-waits.js";

export interface EngineSuiteOptions {
  /** Called after each test with each store it opened (default: `close()`). */
  dispose?: (store: TaskStore) => Promise<void>;
}

/**
 * The engine's tests as a vitest suite on any store: every test opens fresh stores with
 * `createStore`. core runs it on MemoryStore, storage-prisma on SQLite and PostgreSQL.
 *
 * ```ts
 * import { describeEngineSuite } from "@aipartnerupflow/core/testing";
 * describeEngineSuite("my store", async () => new MyStore());
 * ```
 */
export function describeEngineSuite(
  name: string,
  createStore: () => Promise<TaskStore> | TaskStore,
  options: EngineSuiteOptions = {},
): void {
  const engines: Engine[] = [];
  const stores: TaskStore[] = [];
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.stop({ graceMs: 100 })));
    for (const store of stores.splice(0)) await (options.dispose ? options.dispose(store) : store.close());
  });

  /** A fresh store of the kind under test, closed after the test. */
  async function newStore(): Promise<TaskStore> {
    const store = await createStore();
    stores.push(store);
    return store;
  }

  async function setup(engineOptions: Partial<EngineOptions> = {}): Promise<{
    engine: Engine;
    registry: Registry;
    store: TaskStore;
    log: string[];
  }> {
    const registry = engineOptions.registry ?? new Registry();
    const store = engineOptions.store ?? (await newStore());
    const log: string[] = [];
    if (!registry.hasExecutor("echo")) {
      registry.registerExecutor(
        defineExecutor({
          id: "echo",
          execute: (inputs: JsonObject, ctx) => {
            log.push(ctx.task.name);
            return inputs;
          },
        }),
      );
      registry.registerExecutor(
        defineExecutor({
          id: "fail",
          execute: (inputs: JsonObject) => {
            throw new TaskFailure(String(inputs.code ?? "BOOM"), "it failed");
          },
        }),
      );
      registry.registerExecutor(
        defineExecutor({
          id: "wait",
          cancelable: true,
          execute: (_inputs, ctx) =>
            new Promise<JsonValue>((resolve) => {
              ctx.signal.addEventListener("abort", () => resolve({ partial: true }), { once: true });
            }),
        }),
      );
    }
    const engine = new Engine({ store, registry, pollIntervalMs: 20, ...engineOptions });
    engines.push(engine);
    return { engine, registry, store, log };
  }

  const byName = (outcome: TreeOutcome): Record<string, Task> =>
    Object.fromEntries(outcome.tasks.map((t) => [t.name, t]));

  async function collect(iter: AsyncIterable<TaskEvent>): Promise<TaskEvent[]> {
    const out: TaskEvent[] = [];
    for await (const e of iter) out.push(e);
    return out;
  }

  describe(`Engine on ${name}`, () => {
    it("runs dependencies before dependents and merges results into inputs", async () => {
      const { engine, log } = await setup();
      const outcome = await engine.runTree([
        { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["b", "c"] },
        { name: "a", parentId: "root", params: { executorId: "echo" }, inputs: { x: 1 } },
        { name: "b", parentId: "root", params: { executorId: "echo" }, dependencies: ["a"] },
        { name: "c", parentId: "root", params: { executorId: "echo" }, dependencies: ["a"], inputs: { a: "mine" } },
      ]);
      expect(outcome.status).toBe("completed");
      const t = byName(outcome);
      expect(log.indexOf("a")).toBeLessThan(log.indexOf("b"));
      expect(t.b?.result).toEqual({ a: { x: 1 } });
      // An input the task set itself is never overwritten by a dependency result.
      expect(t.c?.result).toEqual({ a: "mine" });
      expect(t.root?.result).toEqual({ results: { b: { a: { x: 1 } }, c: { a: "mine" } }, count: 2 });
      for (const task of outcome.tasks) {
        expect(task.progress).toBe(1);
        expect(task.startedAt).not.toBeNull();
        expect(task.completedAt).not.toBeNull();
        expect(task.attempt).toBe(1);
      }
    });

    it("claimExecutors: an engine claims only tasks whose executor it lists", async () => {
      const { engine, store } = await setup({ owner: "echo-node", claimExecutors: ["echo"] });
      const { engine: other } = await setup({ store, owner: "agg-node", claimExecutors: ["aggregate_results"] });
      await other.start();
      const outcome = await engine.runTree([
        { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["a"] },
        { name: "a", parentId: "root", params: { executorId: "echo" } },
      ]);
      expect(outcome.status).toBe("completed");
      const t = byName(outcome);
      expect((await store.getAttempts(t.a?.id as string)).map((a) => a.owner)).toEqual(["echo-node"]);
      expect((await store.getAttempts(t.root?.id as string)).map((a) => a.owner)).toEqual(["agg-node"]);
    });

    it("fills declared input properties from same-named keys of dependency results", async () => {
      const { engine, registry } = await setup();
      registry.registerExecutor(
        defineExecutor({
          id: "add",
          inputSchema: z.object({ left: z.number(), right: z.number() }),
          execute: (i: { left: number; right: number }) => ({ sum: i.left + i.right }),
        }),
      );
      const outcome = await engine.runTree([
        { name: "sum", params: { executorId: "add" }, inputs: { right: 2 }, dependencies: ["src"] },
        { name: "src", parentId: "sum", params: { executorId: "echo" }, inputs: { left: 40, right: 100, other: true } },
      ]);
      expect(byName(outcome).sum?.result).toEqual({ sum: 42 });
    });

    it("priority 0 runs first (regression: the original treated 0 as unset)", async () => {
      const { engine, log } = await setup({ concurrency: 1 });
      const outcome = await engine.runTree([
        { name: "root", priority: 3 },
        { name: "low", parentId: "root", priority: 3, params: { executorId: "echo" } },
        { name: "normal", parentId: "root", params: { executorId: "echo" } },
        { name: "urgent", parentId: "root", priority: 0, params: { executorId: "echo" } },
        { name: "high", parentId: "root", priority: 1, params: { executorId: "echo" } },
      ]);
      expect(outcome.status).toBe("completed");
      expect(log).toEqual(["urgent", "high", "normal", "low"]);
    });

    it("a failed required dependency fails its dependents and the tree finishes (regression)", async () => {
      const { engine, log } = await setup();
      const outcome = await engine.runTree([
        { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["after"] },
        { name: "broken", parentId: "root", params: { executorId: "fail" } },
        { name: "after", parentId: "root", params: { executorId: "echo" }, dependencies: ["broken"] },
      ]);
      expect(outcome.status).toBe("failed");
      const t = byName(outcome);
      expect(t.broken?.error).toEqual({ code: "BOOM", message: "it failed" });
      expect(t.after?.status).toBe("failed");
      expect(t.after?.error?.code).toBe("DEPENDENCY_FAILED");
      expect(t.root?.error?.code).toBe("DEPENDENCY_FAILED");
      expect(log).toEqual([]);
    });

    it("optional dependencies are waited for, and their failure does not block (regression)", async () => {
      const { engine, registry, log } = await setup();
      // "slow" finishes only after "bad" failed: the root must still wait for it.
      const badFailed = gate();
      engine.bus.subscribe((e) => {
        if (e.type === "task.failed") badFailed.open();
      });
      registry.registerExecutor(
        defineExecutor({
          id: "slow",
          execute: async () => {
            await badFailed.promise;
            log.push("slow");
            return "late";
          },
        }),
      );
      const outcome = await engine.runTree([
        {
          name: "root",
          params: { executorId: "echo" },
          dependencies: [
            { id: "slow", required: false },
            { id: "bad", required: false },
          ],
        },
        { name: "slow", parentId: "root", params: { executorId: "slow" } },
        { name: "bad", parentId: "root", params: { executorId: "fail" } },
      ]);
      expect(log).toEqual(["slow", "root"]);
      const t = byName(outcome);
      expect(t.root?.status).toBe("completed");
      expect(t.root?.result).toEqual({ slow: "late" });
      expect(outcome.status).toBe("failed");
    });

    it("a completed dependency with a null result does not block (regression)", async () => {
      const { engine } = await setup();
      const outcome = await engine.runTree([
        { name: "root", params: { executorId: "echo" }, dependencies: ["nothing"] },
        { name: "nothing", parentId: "root" },
      ]);
      expect(outcome.status).toBe("completed");
      expect(byName(outcome).root?.result).toEqual({ nothing: null });
    });

    it("re-execution re-runs only failed tasks and their dependents, keeping completed results (regression)", async () => {
      const { engine, registry, log } = await setup();
      let fail = true;
      registry.registerExecutor(
        defineExecutor({
          id: "flaky",
          execute: () => {
            if (fail) throw new Error("not yet");
            return "fixed";
          },
        }),
      );
      const first = await engine.runTree([
        { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["good", "flaky"] },
        { name: "good", parentId: "root", params: { executorId: "echo" }, inputs: { v: 1 } },
        { name: "flaky", parentId: "root", params: { executorId: "flaky" } },
      ]);
      expect(first.status).toBe("failed");
      const goodBefore = byName(first).good as Task;
      fail = false;
      log.length = 0;
      const again = await (await engine.execute(first.rootId)).done;
      expect(again.status).toBe("completed");
      const t = byName(again);
      expect(log).toEqual([]);
      expect(t.good?.completedAt).toBe(goodBefore.completedAt);
      expect(t.good?.attempt).toBe(1);
      expect(t.flaky?.attempt).toBe(2);
      expect(t.root?.result).toEqual({ results: { good: { v: 1 }, flaky: "fixed" }, count: 2 });
      const all = await (await engine.execute(first.rootId, { rerun: "all" })).done;
      expect(byName(all).good?.attempt).toBe(2);
      expect(log).toEqual(["good"]);
    });

    it("a second concurrent execution of the same tree is refused with -32008", async () => {
      const { engine } = await setup();
      const [root] = await engine.createTree([{ name: "w", params: { executorId: "wait" } }]);
      const handle = await engine.execute((root as Task).id);
      await expect(engine.execute((root as Task).id)).rejects.toMatchObject({ code: -32008 });
      await engine.cancel((root as Task).id);
      expect((await handle.done).status).toBe("cancelled");
    });

    it("cancelling the root cancels the tree; a running executor's partial result is kept", async () => {
      const { engine } = await setup();
      const tree = await engine.createTree([
        { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["w"] },
        { name: "w", parentId: "root", params: { executorId: "wait" } },
        { name: "idle", parentId: "root", params: { executorId: "echo" }, dependencies: ["w"] },
      ]);
      const rootId = (tree[0] as Task).id;
      const handle = await engine.execute(rootId);
      const events = handle.events();
      for await (const e of events) if (e.type === "task.started") break;
      await engine.cancel(rootId, "stop it");
      const outcome = await handle.done;
      expect(outcome.status).toBe("cancelled");
      const t = byName(outcome);
      expect(t.w?.status).toBe("cancelled");
      expect(t.w?.result).toEqual({ partial: true });
      expect(t.idle?.status).toBe("cancelled");
      expect(t.root?.error).toEqual({ code: "CANCELLED", message: "stop it" });
      // Cancellation is idempotent.
      const again = await engine.cancel(rootId);
      expect(again.cancelled).toEqual([]);
    });

    it("cancelling one running inner task ends the tree cancelled, not failed (regression)", async () => {
      const { engine } = await setup();
      const tree = await engine.createTree([
        { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["w", "e"] },
        { name: "w", parentId: "root", params: { executorId: "wait" } },
        { name: "e", parentId: "root", params: { executorId: "echo" } },
      ]);
      const rootId = (tree[0] as Task).id;
      const w = tree.find((t) => t.name === "w") as Task;
      const handle = await engine.execute(rootId);
      for await (const e of handle.events()) if (e.type === "task.started" && e.taskId === w.id) break;
      await engine.cancel(w.id);
      const outcome = await handle.done;
      expect(outcome.status).toBe("cancelled");
      const t = byName(outcome);
      expect(t.w?.status).toBe("cancelled");
      expect(t.w?.result).toEqual({ partial: true });
      expect(t.root?.error?.code).toBe("DEPENDENCY_FAILED");
    });

    it("an executor that ignores the signal is cancelled after the grace period", async () => {
      const { engine, registry } = await setup({ cancelGraceMs: 20 });
      registry.registerExecutor(defineExecutor({ id: "deaf", execute: () => new Promise<JsonValue>(() => {}) }));
      const [root] = await engine.createTree([{ name: "deaf", params: { executorId: "deaf" } }]);
      const handle = await engine.execute((root as Task).id);
      for await (const e of handle.events()) if (e.type === "task.started") break;
      await engine.cancel((root as Task).id);
      const outcome = await handle.done;
      expect(outcome.tasks[0]?.status).toBe("cancelled");
      expect(outcome.tasks[0]?.result).toBeNull();
    });

    it("a task that runs too long fails with TIMEOUT", async () => {
      const { engine } = await setup();
      const outcome = await engine.runTree([{ name: "w", params: { executorId: "wait", timeoutMs: 20 } }]);
      expect(outcome.status).toBe("failed");
      expect(outcome.tasks[0]?.error?.code).toBe("TIMEOUT");
    });

    it("unknown or disallowed executors fail the task with their codes, never complete it", async () => {
      const registry = new Registry({ allowLateRegistration: true, allowedExecutors: ["echo", "aggregate_results"] });
      const { engine } = await setup({ registry });
      const outcome = await engine.runTree([
        { name: "root", params: { executorId: "echo" } },
        { name: "ghost", parentId: "root", params: { executorId: "not-registered" } },
        { name: "forbidden", parentId: "root", params: { executorId: "fail" } },
      ]);
      const t = byName(outcome);
      expect(t.ghost?.error?.code).toBe("EXECUTOR_NOT_FOUND");
      expect(t.forbidden?.error?.code).toBe("EXECUTOR_NOT_ALLOWED");
      expect(t.root?.status).toBe("completed");
    });

    it("inputs that do not match the executor's schema fail with INVALID_INPUTS", async () => {
      const { engine, registry } = await setup();
      registry.registerExecutor(
        defineExecutor({ id: "typed", inputSchema: z.object({ n: z.number() }), execute: () => 1 }),
      );
      const outcome = await engine.runTree([
        { name: "r", params: { executorId: "typed" }, dependencies: ["d"] },
        { name: "d", parentId: "r", params: { executorId: "echo" }, inputs: { n: "not a number" } },
      ]);
      expect(byName(outcome).r?.error?.code).toBe("INVALID_INPUTS");
    });

    it("retries with backoff, emits task.retrying, and keeps the attempt history", async () => {
      const { engine, registry, store } = await setup();
      let calls = 0;
      registry.registerExecutor(
        defineExecutor({
          id: "third-time",
          execute: () => {
            calls++;
            if (calls < 3) throw new TaskFailure("FLAKY", `attempt ${calls}`);
            return "ok";
          },
        }),
      );
      const tree = await engine.createTree([
        {
          name: "t",
          params: { executorId: "third-time" },
          retry: { maxAttempts: 3, backoff: { type: "fixed", delayMs: 5 } },
        },
      ]);
      const handle = await engine.execute((tree[0] as Task).id);
      const [events, outcome] = await Promise.all([collect(handle.events()), handle.done]);
      expect(outcome.status).toBe("completed");
      expect(outcome.tasks[0]?.attempt).toBe(3);
      expect(events.filter((e) => e.type === "task.retrying")).toHaveLength(2);
      const attempts = await store.getAttempts((tree[0] as Task).id);
      expect(attempts.map((a) => [a.attempt, a.status, a.error?.code ?? null])).toEqual([
        [1, "failed", "FLAKY"],
        [2, "failed", "FLAKY"],
        [3, "completed", null],
      ]);
    });

    it("wakes at a runAt and at a retry's backoff, not at its next poll", { timeout: 20_000 }, async () => {
      // The poll is 10 minutes away: the tree finishes only if its due times woke the engine.
      const { engine, registry } = await setup({ pollIntervalMs: 600_000 });
      let calls = 0;
      registry.registerExecutor(
        defineExecutor({
          id: "second-time",
          execute: () => {
            calls++;
            if (calls < 2) throw new TaskFailure("FLAKY", `attempt ${calls}`);
            return "ok";
          },
        }),
      );
      await engine.start();
      const outcome = await engine.runTree([
        { name: "root", dependencies: ["later", "flaky"] },
        {
          name: "later",
          parentId: "root",
          params: { executorId: "echo" },
          runAt: new Date(Date.now() + 100).toISOString(),
        },
        {
          name: "flaky",
          parentId: "root",
          params: { executorId: "second-time" },
          retry: { maxAttempts: 2, backoff: { type: "fixed", delayMs: 50 } },
        },
      ]);
      expect(outcome.status).toBe("completed");
      expect(byName(outcome).flaky?.attempt).toBe(2);
    });

    it("a NonRetryableError fails at once despite a retry policy", async () => {
      const { engine, registry } = await setup();
      let calls = 0;
      registry.registerExecutor(
        defineExecutor({
          id: "final",
          execute: () => {
            calls++;
            throw new NonRetryableError("no point");
          },
        }),
      );
      const outcome = await engine.runTree([{ name: "t", params: { executorId: "final" }, retry: { maxAttempts: 5 } }]);
      expect(outcome.status).toBe("failed");
      expect(calls).toBe(1);
    });

    it("streams end exactly once with one final event, for completed and failed trees (regression)", async () => {
      const { engine } = await setup();
      for (const executorId of ["echo", "fail"]) {
        const tree = await engine.createTree([
          { name: "root", params: { executorId: "echo" }, dependencies: ["x"] },
          { name: "x", parentId: "root", params: { executorId } },
        ]);
        const handle = await engine.execute((tree[0] as Task).id);
        const events = await collect(handle.events());
        expect(events.filter((e) => e.type === "tree.finished")).toHaveLength(1);
        expect(events[events.length - 1]?.type).toBe("tree.finished");
        expect(events[0]?.type).toBe("tree.started");
        const seqs = events.map((e) => e.seq);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        expect(new Set(seqs).size).toBe(seqs.length);
        // A late subscriber replays the same stream from the store and also ends.
        const replay = await collect(engine.subscribe({ executionId: handle.execution.id }));
        expect(replay.map((e) => e.seq)).toEqual(seqs);
        // Resuming after a seq yields only what follows.
        const resumed = await collect(engine.subscribe({ executionId: handle.execution.id, afterSeq: seqs[1] }));
        expect(resumed.map((e) => e.seq)).toEqual(seqs.slice(2));
      }
    });

    it("progress reports become task.progress events and persist", async () => {
      const { engine, registry } = await setup();
      registry.registerExecutor(
        defineExecutor({
          id: "steps",
          execute: async (_i, ctx) => {
            await ctx.reportProgress(0.5, "half");
            await ctx.reportProgress(null, "a line of output");
            return "done";
          },
        }),
      );
      const tree = await engine.createTree([{ name: "s", params: { executorId: "steps" } }]);
      const handle = await engine.execute((tree[0] as Task).id);
      const events = await collect(handle.events());
      const progress = events.filter((e) => e.type === "task.progress");
      expect(progress.map((e) => [e.progress, e.message])).toEqual([
        [0.5, "half"],
        [0.5, "a line of output"],
      ]);
    });

    it("demo mode returns declared demo results without running executors", async () => {
      const { engine, registry, log } = await setup();
      registry.registerExecutor(
        defineExecutor({
          id: "costly",
          demoResult: { pretend: true },
          execute: () => {
            log.push("ran");
            return { pretend: false };
          },
        }),
      );
      const outcome = await engine.runTree(
        [
          { name: "root", params: { executorId: "costly" }, dependencies: ["e"] },
          { name: "e", parentId: "root", params: { executorId: "echo" } },
        ],
        { demo: true },
      );
      const t = byName(outcome);
      expect(t.root?.result).toEqual({ pretend: true });
      expect(t.e?.result).toEqual({ demo: true, executorId: "echo" });
      // Side-effect-free executors (aggregate_results) run for real in demo mode.
      const agg = await engine.runTree(
        [
          { name: "agg", params: { executorId: "aggregate_results" }, dependencies: ["e"] },
          { name: "e", parentId: "agg", params: { executorId: "costly" } },
        ],
        { demo: true },
      );
      expect(byName(agg).agg?.result).toEqual({ results: { e: { pretend: true } }, count: 1 });
      expect(log).toEqual([]);
    });

    it("hooks: beforeTask changes inputs (persisted), executor hooks short-circuit, errors are isolated unless critical", async () => {
      const { engine, registry, store } = await setup();
      const seen: string[] = [];
      registry.addHook("beforeTask", (task, ctx) => ({ ...ctx.inputs, stamped: task.name }));
      registry.addHook("beforeTask", () => {
        throw new Error("a broken, non-critical hook");
      });
      registry.addHook("beforeExecute", () => ({ result: "short-circuit" }), { executors: ["fail"] });
      registry.addHook("afterTask", (task) => {
        seen.push(`after:${task.name}:${task.status}`);
      });
      registry.addHook("onTreeStarted", () => {
        seen.push("tree-started");
      });
      registry.addHook("onTreeCompleted", (e) => {
        seen.push(`tree-${e.status}`);
      });
      const outcome = await engine.runTree([
        { name: "root", params: { executorId: "echo" }, dependencies: ["f"] },
        { name: "f", parentId: "root", params: { executorId: "fail" } },
      ]);
      expect(outcome.status).toBe("completed");
      const t = byName(outcome);
      expect(t.f?.result).toBe("short-circuit");
      expect(t.root?.result).toMatchObject({ stamped: "root", f: "short-circuit" });
      expect((await store.getTask(t.root?.id as string))?.inputs).toMatchObject({ stamped: "root" });
      expect(seen).toEqual(["tree-started", "after:f:completed", "after:root:completed", "tree-completed"]);

      registry.addHook(
        "beforeTask",
        () => {
          throw new Error("critical failure");
        },
        { critical: true },
      );
      const failed = await engine.runTree([{ name: "x", params: { executorId: "echo" } }]);
      expect(failed.tasks[0]?.error?.code).toBe("HOOK_FAILED");
    });

    it("a third-party executor written against the public exports runs inside a tree", async () => {
      const core = await import("../index.js");
      const registry = new core.Registry();
      const plugin = core.definePlugin({
        name: "greeter-plugin",
        setup(r) {
          r.registerExecutor(
            core.defineExecutor<{ who: string }, { greeting: string }>({
              id: "greet",
              inputSchema: z.object({ who: z.string() }),
              execute: ({ who }) => ({ greeting: `hello ${who}` }),
            }),
          );
        },
      });
      await registry.use(plugin);
      const engine = new core.Engine({ store: await newStore(), registry });
      engines.push(engine);
      const outcome = await engine.runTree([{ name: "hi", params: { executorId: "greet" }, inputs: { who: "world" } }]);
      expect(outcome.tasks[0]?.result).toEqual({ greeting: "hello world" });
      expect(registry.listExecutors().find((e) => e.id === "greet")?.inputSchema).toMatchObject({
        type: "object",
        properties: { who: { type: "string" } },
      });
    });

    it("runAt delays a tree until its time", async () => {
      const clock = new ManualClock();
      const { engine, store } = await setup({ clock: clock.now });
      const when = new Date(clock.now().getTime() + 60_000).toISOString();
      const [task] = await engine.createTree([{ name: "later", runAt: when, params: { executorId: "echo" } }]);
      const id = (task as Task).id;
      const handle = await engine.execute(id);
      // Claims come and go on the poll interval; the task stays pending until the clock reaches runAt.
      clock.advance(59_999);
      expect((await store.getTask(id))?.status).toBe("pending");
      clock.advance(1);
      const outcome = await handle.done;
      expect(outcome.status).toBe("completed");
      expect(outcome.tasks[0]?.startedAt).toBe(when);
    });

    it("bad trees write nothing (regression)", async () => {
      const { engine, store } = await setup();
      const bad: TaskInput[] = [
        { name: "root", params: { executorId: "echo" } },
        { name: "a", parentId: "root", dependencies: ["b"] },
        { name: "b", parentId: "root", dependencies: ["a"] },
      ];
      await expect(engine.createTree(bad)).rejects.toMatchObject({ code: -32002 });
      expect((await store.listTasks()).total).toBe(0);
      expect(await store.readEvents({})).toEqual([]);
    });

    it("execute on a stopped engine is refused as unavailable, not as an internal error", async () => {
      const { engine } = await setup();
      const [root] = await engine.createTree([{ name: "late", params: { executorId: "echo" } }]);
      await engine.start();
      await engine.stop();
      await expect(engine.execute((root as Task).id)).rejects.toMatchObject({ code: -32013 });
    });

    it("a beforeTask hook does not freeze this run's dependency results into the next run (regression)", async () => {
      const { engine, registry } = await setup();
      let value = 1;
      registry.registerExecutor(defineExecutor({ id: "produce", execute: () => ({ value }) }));
      registry.addHook("beforeTask", (_task, ctx) => ({ ...ctx.inputs, traceId: "t-1" }));
      const first = await engine.runTree([
        { name: "consumer", params: { executorId: "echo" }, dependencies: ["producer"] },
        { name: "producer", parentId: "consumer", params: { executorId: "produce" } },
      ]);
      expect(byName(first).consumer?.result).toEqual({ traceId: "t-1", producer: { value: 1 } });
      value = 2;
      const again = await (await engine.execute(first.rootId, { rerun: "all" })).done;
      expect(byName(again).consumer?.result).toEqual({ traceId: "t-1", producer: { value: 2 } });
    });

    it("stop() with a claim in flight launches nothing afterwards and hands the task back", async () => {
      const store = new FaultInjectingStore(await newStore());
      const { engine, log } = await setup({ store });
      const [root] = await engine.createTree([{ name: "late", params: { executorId: "echo" } }]);
      const claimHeld = gate();
      store.inject({ operation: "claimReady", times: Number.POSITIVE_INFINITY, delay: () => claimHeld.promise });
      await engine.execute((root as Task).id);
      const stopping = engine.stop({ graceMs: 50 });
      claimHeld.open();
      await stopping;
      // stop() waited for the claim loop: the claim that was in flight has been handed back.
      expect(store.calls("claimReady")).toBeGreaterThan(0);
      expect(log).toEqual([]);
      const task = await store.getTask((root as Task).id);
      expect(task?.status).toBe("pending");
      expect(task?.error?.code).toBe("SHUTDOWN");
    });

    it("a node that cannot renew its leases stops its executors before the lease can expire", async () => {
      const store = new FaultInjectingStore(await newStore(), [
        { operation: "renewLeases", times: Number.POSITIVE_INFINITY, fail: () => new Error("database unreachable") },
      ]);
      const { engine, registry } = await setup({ store, leaseMs: 300 });
      let aborted: (reason: unknown) => void = () => {};
      const abortReason = new Promise<unknown>((resolve) => {
        aborted = resolve;
      });
      registry.registerExecutor(
        defineExecutor({
          id: "long",
          execute: (_i, ctx) =>
            new Promise<JsonValue>((resolve) => {
              ctx.signal.addEventListener("abort", () => {
                aborted(ctx.signal.reason);
                resolve(null);
              });
            }),
        }),
      );
      const [root] = await engine.createTree([{ name: "l", params: { executorId: "long" } }]);
      await engine.execute((root as Task).id);
      const reason = await abortReason;
      expect(String((reason as Error)?.message)).toContain("lease_lost");
      expect(store.calls("renewLeases")).toBeGreaterThan(0);
      // Nothing was written: the task is still the (expired) lease holder's, for another node to reclaim.
      expect((await store.getTask((root as Task).id))?.status).toBe("in_progress");
    });

    it("a task's event stream ends with its own tree, not with another tree finishing", async () => {
      const { engine } = await setup();
      const [a] = await engine.createTree([{ name: "a", params: { executorId: "echo" } }]);
      const [b] = await engine.createTree([{ name: "b", params: { executorId: "echo" } }]);
      const stream = collect(engine.subscribe({ taskId: (a as Task).id }));
      await (await engine.execute((b as Task).id)).done;
      await (await engine.execute((a as Task).id)).done;
      const events = await stream;
      expect(events.every((e) => e.rootId === (a as Task).id)).toBe(true);
      expect(events.map((e) => e.type)).toEqual([
        "task.created",
        "tree.started",
        "task.started",
        "task.completed",
        "tree.finished",
      ]);
    });

    it("a consumer slower than the tree gets every event once, in order, without unbounded buffering", async () => {
      const { engine, store } = await setup({ concurrency: 64 });
      const tasks: TaskInput[] = [{ name: "root" }];
      for (let i = 0; i < 400; i++) tasks.push({ name: `t${i}`, parentId: "root" });
      const [root] = await engine.createTree(tasks);
      const rootId = (root as Task).id;
      const stream = engine.subscribe({ rootId, afterSeq: 0, maxBuffered: 50 });
      const first = await stream.next();
      expect(first.value?.type).toBe("task.created");
      // The whole tree runs (about 800 live events, far past maxBuffered) while nobody reads.
      await (await engine.execute(rootId)).done;
      const rest: TaskEvent[] = [];
      for await (const e of stream) rest.push(e);
      const seqs = [first.value as TaskEvent, ...rest].map((e) => e.seq);
      const stored = (await store.readEvents({ rootId, limit: 100_000 })).map((e) => e.seq);
      expect(seqs).toEqual(stored);
      expect(rest[rest.length - 1]?.type).toBe("tree.finished");
    });

    it("several independent trees are created in one request", async () => {
      const { engine } = await setup();
      const trees = await engine.createTrees([{ name: "r1" }, { name: "r2" }, { name: "c2", parentId: "r2" }]);
      expect(trees.map((t) => t.map((x) => x.name))).toEqual([["r1"], ["r2", "c2"]]);
    });

    it("a lease that expires mid-run hands the task to another engine; the late write is refused", async () => {
      const store = await newStore();
      const registry = new Registry();
      let runs = 0;
      let release: (() => void) | undefined;
      registry.registerExecutor(
        defineExecutor({
          id: "stuck-once",
          execute: async () => {
            runs++;
            if (runs === 1) await new Promise<void>((r) => (release = r));
            return `run ${runs}`;
          },
        }),
      );
      // Node a's clock stands still (a stuck node never renews in time); node b lives 5 s later.
      const t0 = Date.now();
      const bus = new LocalEventBus();
      const a = new Engine({
        store,
        registry,
        bus,
        owner: "a",
        leaseMs: 1000,
        pollIntervalMs: 10_000,
        clock: () => new Date(t0),
      });
      engines.push(a);
      const tree = await a.createTree([{ name: "t", params: { executorId: "stuck-once" } }]);
      const handle = await a.execute((tree[0] as Task).id);
      for await (const e of handle.events()) if (e.type === "task.started") break;
      const b = new Engine({
        store,
        registry,
        bus,
        owner: "b",
        leaseMs: 1000,
        pollIntervalMs: 10,
        clock: () => new Date(t0 + 5000),
      });
      engines.push(b);
      await b.start();
      const outcome = await handle.done;
      expect(outcome.tasks[0]?.result).toBe("run 2");
      release?.();
      await a.stop({ graceMs: 100 });
      expect((await store.getTask((tree[0] as Task).id))?.result).toBe("run 2");
      expect((await store.getAttempts((tree[0] as Task).id)).map((x) => x.owner)).toEqual(["a", "b"]);
    });

    it("submit: a producer that does not claim queues many trees at once; a worker runs them", async () => {
      const store = await newStore();
      const registry = new Registry();
      const ranBy: string[] = [];
      registry.registerExecutor(
        defineExecutor({
          id: "who",
          execute: (inputs: JsonObject, ctx) => {
            ranBy.push(`${ctx.task.name}@${String(inputs.node)}`);
            return { name: ctx.task.name };
          },
        }),
      );
      const producer = new Engine({ store, registry, claim: false, pollIntervalMs: 20, owner: "producer" });
      engines.push(producer);
      await producer.start();
      const submitted = await producer.submit([
        { id: "s1", name: "s1", params: { executorId: "who" }, inputs: { node: "w" } },
        { id: "s2", name: "s2", params: { executorId: "who" }, inputs: { node: "w" } },
        { id: "s2c", name: "s2c", parentId: "s2", params: { executorId: "who" }, inputs: { node: "w" } },
        {
          id: "s2d",
          name: "s2d",
          parentId: "s2",
          dependencies: ["s2c"],
          params: { executorId: "who" },
          inputs: { node: "w" },
        },
      ]);
      expect(submitted.map((s) => [s.execution.rootId, s.execution.status, s.execution.total])).toEqual([
        ["s1", "running", 1],
        ["s2", "running", 3],
      ]);
      expect(submitted.map((s) => s.tasks.map((t) => t.id))).toEqual([["s1"], ["s2", "s2c", "s2d"]]);
      // Nothing runs until a claiming engine comes: the producer never claims.
      await new Promise((r) => setTimeout(r, 100));
      expect(ranBy).toEqual([]);
      expect(producer.activeCount).toBe(0);
      expect((await store.countByStatus()).pending).toBe(4);
      const worker = new Engine({ store, registry, pollIntervalMs: 20, owner: "worker" });
      engines.push(worker);
      await worker.start();
      const outcomes = await Promise.all(submitted.map((s) => producer.wait(s.execution.id)));
      expect(outcomes.map((o) => o.status)).toEqual(["completed", "completed"]);
      expect([...ranBy].sort()).toEqual(["s1@w", "s2@w", "s2c@w", "s2d@w"]);
      expect(ranBy.indexOf("s2c@w")).toBeLessThan(ranBy.indexOf("s2d@w"));
      expect((await store.getAttempts("s2d")).map((a) => a.owner)).toEqual(["worker"]);
      const events = await store.readEvents({ rootId: "s2" });
      expect(events.filter((e) => e.type === "tree.started")).toHaveLength(1);
      expect(events.filter((e) => e.type === "tree.finished")).toHaveLength(1);
    });

    it("submit is atomic: a bad or duplicate tree stores and queues nothing of the request", async () => {
      const { engine, store } = await setup({ claim: false });
      await engine.submit([{ id: "first", name: "first" }]);
      await expect(
        engine.submit([
          { id: "other", name: "other" },
          { id: "first", name: "again" },
        ]),
      ).rejects.toThrow();
      expect(await store.getTask("other")).toBeNull();
      expect((await store.listExecutions()).map((e) => e.rootId)).toEqual(["first"]);
      await expect(engine.submit([{ name: "x", dependencies: ["nowhere"] }])).rejects.toThrow();
      expect((await store.listTasks()).total).toBe(1);
    });
  });

  describeWaitSuite(name, setup, (engineOptions) => {
    const engine = new Engine({ pollIntervalMs: 20, ...engineOptions });
    engines.push(engine);
    return engine;
  });
}
