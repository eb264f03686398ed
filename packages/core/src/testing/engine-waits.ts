import { describe, expect, it } from "vitest";
import type { Engine, EngineOptions } from "../engine/engine.js";
import { ErrorCode } from "../errors.js";
import { defineExecutor } from "../registry/define.js";
import { Registry } from "../registry/registry.js";
import type { TaskStore } from "../store/types.js";
import type { JsonObject, Task, TaskEvent, TaskInput } from "../types.js";
import { ManualClock } from "./fault-store.js";

/**
 * Waiting tasks on an engine (docs/semantics.md#waiting), run by `describeEngineSuite` on every
 * store: wait → resume → complete, timeouts with each `onTimeout`, N-of-M approvals, rejection
 * cascades, concurrent resumes, no slot held while waiting, restart and resume on another engine.
 */
export function describeWaitSuite(
  name: string,
  setup: (options?: Partial<EngineOptions>) => Promise<{ engine: Engine; registry: Registry; store: TaskStore }>,
  newEngine: (options: Partial<EngineOptions> & { store: TaskStore }) => Engine,
): void {
  const POLL = { timeout: 20_000, interval: 20 };

  async function statusOf(store: TaskStore, id: string): Promise<string | undefined> {
    return (await store.getTask(id))?.status;
  }

  function waitForRegistry(): Registry {
    const registry = new Registry();
    registry.registerExecutor(
      defineExecutor({
        id: "ask",
        execute: (inputs: JsonObject, ctx) => {
          if (ctx.resume === null) {
            return ctx.waitFor({
              prompt: String(inputs.prompt ?? "answer?"),
              ...(typeof inputs.event === "string" ? { event: inputs.event } : {}),
              ...(typeof inputs.key === "string" ? { key: inputs.key } : {}),
              ...(typeof inputs.timeoutMs === "number"
                ? { timeoutMs: inputs.timeoutMs, onTimeout: inputs.onTimeout as "fail" | "resume" }
                : {}),
            });
          }
          return { answer: ctx.resumeInput ?? null, timedOut: ctx.resume.timedOut, attempt: ctx.attempt };
        },
      }),
    );
    registry.registerExecutor(defineExecutor({ id: "echo", execute: (inputs: JsonObject) => inputs }));
    return registry;
  }

  async function waiting(
    engine: Engine,
    tasks: TaskInput[],
    waitFor: string[],
    options: Partial<{ userId: string }> = {},
  ) {
    const [root] = await engine.createTree(tasks, options.userId ? { userId: options.userId } : {});
    const handle = await engine.execute((root as Task).id);
    const tree = await engine.store.getTree((root as Task).id);
    const ids = Object.fromEntries(tree.map((t) => [t.name, t.id])) as Record<string, string>;
    for (const n of waitFor) await expect.poll(() => statusOf(engine.store, ids[n] as string), POLL).toBe("waiting");
    return { handle, ids, rootId: (root as Task).id };
  }

  describe(`Waiting tasks on ${name}`, () => {
    it("wait -> resume -> complete: the executor runs again with resumeInput; events say who and what", async () => {
      const { engine, store } = await setup({ registry: waitForRegistry() });
      const { handle, ids, rootId } = await waiting(
        engine,
        [
          { name: "root", params: { executorId: "echo" }, dependencies: ["q"] },
          { name: "q", parentId: "root", params: { executorId: "ask" }, inputs: { prompt: "which draft?" } },
        ],
        ["q"],
      );
      const q = (await store.getTask(ids.q as string)) as Task;
      expect(q.wait).toMatchObject({ prompt: "which draft?", answers: [] });
      expect(q.wait?.since).toBeTypeOf("string");
      expect((await store.getTask(rootId))?.status).toBe("pending");
      expect(await store.readEvents({ rootId })).not.toContainEqual(expect.objectContaining({ type: "tree.finished" }));
      const { resumed } = await engine.resume(ids.q as string, { pick: 2 }, { by: "ann" });
      expect(resumed).toBe(true);
      const outcome = await handle.done;
      expect(outcome.status).toBe("completed");
      const done = outcome.tasks.find((t) => t.name === "q") as Task;
      expect(done.result).toEqual({ answer: { pick: 2 }, timedOut: false, attempt: 2 });
      expect(done.wait?.answers).toEqual([{ by: "ann", at: expect.any(String), input: { pick: 2 } }]);
      const events = await store.readEvents({ taskId: ids.q as string });
      const types = events.map((e) => e.type);
      expect(types).toEqual([
        "task.created",
        "task.started",
        "task.waiting",
        "task.resumed",
        "task.started",
        "task.completed",
      ]);
      expect(events[2]?.data).toMatchObject({ prompt: "which draft?", answers: 0, required: 1 });
      expect(events[3]?.data).toEqual({ by: "ann", input: { pick: 2 } });
      expect(events[3]?.status).toBe("pending");
    });

    it("a second answer gets -32006; of concurrent answers exactly one wins", async () => {
      const { engine } = await setup({ registry: waitForRegistry() });
      const { handle, ids } = await waiting(engine, [{ name: "q", params: { executorId: "ask" } }], ["q"]);
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) => engine.resume(ids.q as string, { i }, { by: null })),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results.filter((r) => r.status === "rejected")) {
        expect((r as PromiseRejectedResult).reason.code).toBe(ErrorCode.InvalidTransition);
      }
      expect((await handle.done).status).toBe("completed");
      await expect(engine.resume(ids.q as string, {}, {})).rejects.toMatchObject({ code: ErrorCode.InvalidTransition });
    });

    it("approval: N of M approvers, each answer recorded, a repeated approver refused", async () => {
      const { engine, store } = await setup();
      const { handle, ids } = await waiting(
        engine,
        [
          {
            name: "ok",
            params: { executorId: "approval" },
            inputs: { prompt: "ship?", approvers: ["a", "b", "c"], required: 2 },
          },
        ],
        ["ok"],
      );
      expect((await engine.resume(ids.ok as string, { approved: true }, { by: "a" })).resumed).toBe(false);
      const still = (await store.getTask(ids.ok as string)) as Task;
      expect(still.status).toBe("waiting");
      expect(still.wait?.answers).toHaveLength(1);
      await expect(engine.resume(ids.ok as string, { approved: true }, { by: "a" })).rejects.toMatchObject({
        code: ErrorCode.InvalidTransition,
      });
      expect((await engine.resume(ids.ok as string, { approved: true, comment: "lgtm" }, { by: "b" })).resumed).toBe(
        true,
      );
      const outcome = await handle.done;
      expect(outcome.status).toBe("completed");
      expect(outcome.tasks[0]?.result).toMatchObject({
        approved: true,
        by: [
          { userId: "a", input: { approved: true } },
          { userId: "b", input: { approved: true, comment: "lgtm" } },
        ],
        input: { approved: true, comment: "lgtm" },
      });
    });

    it("a rejection fails the approval with REJECTED and its dependents cascade; onReject complete keeps going", async () => {
      const { engine } = await setup();
      const { handle, ids } = await waiting(
        engine,
        [
          { name: "root", params: { executorId: "echo" }, dependencies: ["ok"] },
          { name: "ok", parentId: "root", params: { executorId: "approval" }, inputs: { prompt: "p", required: 2 } },
        ],
        ["ok"],
      );
      // One rejection ends a 2-answer wait at once.
      expect((await engine.resume(ids.ok as string, { approved: false }, { by: "x" })).resumed).toBe(true);
      const outcome = await handle.done;
      expect(outcome.status).toBe("failed");
      const by = Object.fromEntries(outcome.tasks.map((t) => [t.name, t]));
      expect(by.ok?.error?.code).toBe("REJECTED");
      expect(by.root?.error?.code).toBe("DEPENDENCY_FAILED");

      const second = await waiting(
        engine,
        [{ name: "soft", params: { executorId: "approval" }, inputs: { prompt: "p", onReject: "complete" } }],
        ["soft"],
      );
      await engine.resume(second.ids.soft as string, { approved: false, comment: "no" }, { by: "y" });
      const soft = await second.handle.done;
      expect(soft.status).toBe("completed");
      expect(soft.tasks[0]?.result).toMatchObject({ approved: false, input: { approved: false, comment: "no" } });
    });

    it("timeouts apply onTimeout exactly once: fail, approve, reject, and resume for ctx.waitFor", async () => {
      const clock = new ManualClock(Date.now());
      const { engine } = await setup({ registry: waitForRegistry(), clock: clock.now, pollIntervalMs: 1_000_000 });
      // A second engine on the same store races for the same expiries; both claim (whichever
      // expires a wait runs its task again), so outcomes are read from the store.
      const other = newEngine({
        store: engine.store,
        registry: waitForRegistry(),
        clock: clock.now,
        pollIntervalMs: 1_000_000,
      });
      await other.start();
      const cases = await Promise.all(
        (["fail", "approve", "reject"] as const).map((onTimeout) =>
          waiting(
            engine,
            [
              {
                name: onTimeout,
                params: { executorId: "approval" },
                inputs: { prompt: "p", timeoutMs: 1000, onTimeout },
              },
            ],
            [onTimeout],
          ),
        ),
      );
      for (const c of cases) c.handle.done.catch(() => {});
      expect(await engine.expireWaits()).toEqual([]);
      clock.advance(1001);
      const [a, b] = await Promise.all([engine.expireWaits(), other.expireWaits()]);
      expect([...a, ...b].map((t) => t.name).sort()).toEqual(["approve", "fail", "reject"]);
      const final = async (c: (typeof cases)[number]) => {
        await expect
          .poll(async () => (await engine.store.getExecution(c.handle.execution.id))?.status, POLL)
          .not.toBe("running");
        return (await engine.store.getTree(c.rootId))[0] as Task;
      };
      const [failed, approved, rejected] = await Promise.all(cases.map(final));
      expect(failed?.error?.code).toBe("WAIT_TIMEOUT");
      expect(approved?.status).toBe("completed");
      expect(approved?.result).toMatchObject({ approved: true, timedOut: true });
      expect(rejected?.error?.code).toBe("REJECTED");
      const events = await engine.store.readEvents({ rootId: cases[0]?.rootId as string });
      expect(events.filter((e) => e.type === "task.failed")).toHaveLength(1);
      expect(events.filter((e) => e.type === "tree.finished")).toHaveLength(1);
      await other.stop({ graceMs: 100 });

      const asked = await waiting(
        engine,
        [{ name: "q", params: { executorId: "ask" }, inputs: { timeoutMs: 10, onTimeout: "resume" } }],
        ["q"],
      );
      clock.advance(11);
      await engine.expireWaits();
      expect((await asked.handle.done).tasks[0]?.result).toMatchObject({ answer: null, timedOut: true });
    });

    it("a waiting task holds no slot: concurrency 1 runs other work while one task waits", async () => {
      const { engine } = await setup({ registry: waitForRegistry(), concurrency: 1 });
      const { ids } = await waiting(engine, [{ name: "q", params: { executorId: "ask" } }], ["q"]);
      const outcome = await engine.runTree([
        { name: "r", params: { executorId: "echo" }, dependencies: ["a"] },
        { name: "a", parentId: "r", params: { executorId: "echo" }, inputs: { n: 1 } },
      ]);
      expect(outcome.status).toBe("completed");
      expect(await statusOf(engine.store, ids.q as string)).toBe("waiting");
      expect(engine.activeCount).toBe(0);
    });

    it("signals resume every task waiting for the event with the same key, nothing else", async () => {
      const { engine, store } = await setup({ registry: waitForRegistry() });
      const { handle, ids } = await waiting(
        engine,
        [
          { name: "root", params: { executorId: "echo" } },
          { name: "k1", parentId: "root", params: { executorId: "ask" }, inputs: { event: "ticket", key: "T-1" } },
          { name: "k1b", parentId: "root", params: { executorId: "ask" }, inputs: { event: "ticket", key: "T-1" } },
          { name: "k2", parentId: "root", params: { executorId: "ask" }, inputs: { event: "ticket", key: "T-2" } },
        ],
        ["k1", "k1b", "k2"],
      );
      const why = await store.getTask(ids.k2 as string);
      expect(why?.wait).toMatchObject({ event: "ticket", key: "T-2" });
      const answered = await engine.signal("ticket", "T-1", { state: "closed" });
      expect(answered.map((t) => t.name).sort()).toEqual(["k1", "k1b"]);
      await expect.poll(() => statusOf(store, ids.k1 as string), POLL).toBe("completed");
      expect(await statusOf(store, ids.k2 as string)).toBe("waiting");
      expect(await engine.signal("ticket", null, {})).toEqual([]);
      await engine.signal("ticket", "T-2", { state: "open" });
      const outcome = await handle.done;
      expect(outcome.status).toBe("completed");
      expect(outcome.tasks.find((t) => t.name === "k2")?.result).toMatchObject({ answer: { state: "open" } });
    });

    it("cancelling a waiting task cancels it at once and the tree finishes", async () => {
      const { engine } = await setup({ registry: waitForRegistry() });
      const { handle, rootId } = await waiting(
        engine,
        [
          { name: "root", params: { executorId: "echo" }, dependencies: ["q"] },
          { name: "q", parentId: "root", params: { executorId: "ask" } },
        ],
        ["q"],
      );
      const result = await engine.cancel(rootId);
      expect(result.cancelled).toHaveLength(2);
      expect((await handle.done).status).toBe("cancelled");
    });

    it("survives a restart while waiting and resumes on another engine than the one it waited on", async () => {
      const first = await setup({ registry: waitForRegistry() });
      const { ids, handle } = await waiting(first.engine, [{ name: "q", params: { executorId: "ask" } }], ["q"]);
      handle.done.catch(() => {});
      await first.engine.stop({ graceMs: 100 });
      const producer = newEngine({ store: first.store, registry: waitForRegistry(), claim: false });
      await producer.start();
      expect((await producer.resume(ids.q as string, "yes", { by: "u" })).resumed).toBe(true);
      const worker = newEngine({ store: first.store, registry: waitForRegistry(), pollIntervalMs: 20 });
      await worker.start();
      await expect.poll(() => statusOf(first.store, ids.q as string), POLL).toBe("completed");
      expect((await first.store.getTask(ids.q as string))?.result).toMatchObject({ answer: "yes" });
    });

    it("an invalid waitFor fails the task with INVALID_WAIT", async () => {
      const registry = new Registry();
      registry.registerExecutor(
        defineExecutor({ id: "bad", execute: (_i: JsonObject, ctx) => ctx.waitFor({ prompt: "" }) }),
      );
      const { engine } = await setup({ registry });
      const outcome = await engine.runTree([{ name: "b", params: { executorId: "bad" } }]);
      expect(outcome.tasks[0]?.error?.code).toBe("INVALID_WAIT");
    });
  });
}

export type { TaskEvent };
