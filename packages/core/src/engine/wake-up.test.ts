import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TaskFailure } from "../errors.js";
import { defineExecutor } from "../registry/define.js";
import { Registry } from "../registry/registry.js";
import { MemoryStore } from "../store/memory-store.js";
import { FaultInjectingStore } from "../testing/fault-store.js";
import type { Task } from "../types.js";
import { Engine } from "./engine.js";

// The poll is 10 s here: anything that happens sooner was woken by its due time.
const POLL = 10_000;

function setup(store = new FaultInjectingStore(new MemoryStore())) {
  const registry = new Registry();
  let calls = 0;
  registry.registerExecutor(
    defineExecutor({
      id: "flaky-once",
      execute: () => {
        calls++;
        if (calls === 1) throw new TaskFailure("FLAKY", "first attempt fails");
        return "ok";
      },
    }),
  );
  registry.registerExecutor(defineExecutor({ id: "echo", execute: (inputs) => inputs }));
  const engine = new Engine({ store, registry, pollIntervalMs: POLL });
  return { engine, store, calls: () => calls };
}

describe("engine wake-ups (fake timers)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse("2030-01-01T00:00:00.000Z") });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("a 400 ms retry backoff runs the next attempt after 400 ms, not at the next poll", async () => {
    const { engine, store, calls } = setup();
    const [root] = await engine.createTree([
      {
        name: "t",
        params: { executorId: "flaky-once" },
        retry: { maxAttempts: 2, backoff: { type: "fixed", delayMs: 400 } },
      },
    ]);
    const handle = await engine.execute((root as Task).id);
    await vi.advanceTimersByTimeAsync(50);
    expect(calls()).toBe(1);
    const retrying = (await store.readEvents({ rootId: (root as Task).id })).find((e) => e.type === "task.retrying");
    expect(retrying?.retryAt).toBe(new Date(Date.parse("2030-01-01T00:00:00.000Z") + 400).toISOString());
    await vi.advanceTimersByTimeAsync(340);
    expect(calls()).toBe(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(calls()).toBe(2);
    expect((await handle.done).status).toBe("completed");
    await engine.stop();
  });

  it("a task held back only by an empty start-rate bucket starts when the bucket refills, not at the poll", async () => {
    const memory = new MemoryStore();
    await memory.limits.set({ scope: "executor", key: "echo", rate: { starts: 1, perMs: 1000 } });
    const { engine, store } = setup(memory as never);
    const t0 = Date.now();
    const [root] = await engine.createTree([
      { name: "root", dependencies: ["a", "b"] },
      { name: "a", parentId: "root", params: { executorId: "echo" } },
      { name: "b", parentId: "root", params: { executorId: "echo" } },
    ]);
    const handle = await engine.execute((root as Task).id);
    await vi.advanceTimersByTimeAsync(990);
    const pending = (await store.getTree((root as Task).id)).filter((t) => t.status === "pending").map((t) => t.name);
    // The root and one of a, b: the other started at once and took the only token.
    expect(pending).toContain("root");
    expect(pending).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(30);
    const outcome = await handle.done;
    expect(outcome.status).toBe("completed");
    const starts = outcome.tasks
      .filter((t) => t.name !== "root")
      .map((t) => Date.parse(t.startedAt as string) - t0)
      .sort((x, y) => x - y);
    expect(starts[0]).toBeLessThan(50);
    expect(starts[1]).toBe(1000);
    await engine.stop();
  });

  it("a runAt 1.5 s ahead starts the task at its time (the store's nextDueAt)", async () => {
    const { engine, store } = setup();
    const t0 = Date.now();
    const [root] = await engine.createTree([
      { name: "root", dependencies: ["later"] },
      { name: "later", parentId: "root", params: { executorId: "echo" }, runAt: new Date(t0 + 1500).toISOString() },
    ]);
    const handle = await engine.execute((root as Task).id);
    await vi.advanceTimersByTimeAsync(1490);
    expect((await store.getTree((root as Task).id)).map((t) => t.status)).toEqual(["pending", "pending"]);
    await vi.advanceTimersByTimeAsync(20);
    const outcome = await handle.done;
    expect(outcome.status).toBe("completed");
    expect(Date.parse(outcome.tasks.find((t) => t.name === "later")?.startedAt as string)).toBe(t0 + 1500);
    await engine.stop();
  });

  it("a busy engine reads nextDueAt only after something may have queued timed work, not after every claim", async () => {
    const { engine, store } = setup();
    const chain = Array.from({ length: 30 }, (_, i) => ({
      id: `c${i}`,
      name: `c${i}`,
      params: { executorId: "echo" },
      ...(i > 0 ? { parentId: "c0" } : {}),
      ...(i < 29 ? { dependencies: [`c${i + 1}`] } : {}),
    }));
    const run = engine.runTree(chain);
    await vi.advanceTimersByTimeAsync(500);
    const outcome = await run;
    expect(outcome.status).toBe("completed");
    // 30 claims, most of them short (one task ready at a time); the store was asked once or twice.
    expect(store.calls("claimReady")).toBeGreaterThanOrEqual(30);
    expect(store.calls("nextDueAt")).toBeGreaterThanOrEqual(1);
    expect(store.calls("nextDueAt")).toBeLessThanOrEqual(2);
    await engine.stop();
  });

  it("keeps the process held while an execution it started is unfinished, and lets go after", async () => {
    const { engine } = setup();
    const [root] = await engine.createTree([
      { name: "later", params: { executorId: "echo" }, runAt: new Date(Date.now() + 5000).toISOString() },
    ]);
    expect(engine.holdsProcess).toBe(false);
    const handle = await engine.execute((root as Task).id);
    expect(engine.holdsProcess).toBe(true);
    await vi.advanceTimersByTimeAsync(5010);
    expect((await handle.done).status).toBe("completed");
    expect(engine.holdsProcess).toBe(false);
    // A stop ends every wait, and its hold.
    const [other] = await engine.createTree([
      { name: "never", params: { executorId: "echo" }, runAt: new Date(Date.now() + 60_000).toISOString() },
    ]);
    const pending = await engine.execute((other as Task).id);
    expect(engine.holdsProcess).toBe(true);
    await engine.stop();
    await expect(pending.done).rejects.toThrow();
    expect(engine.holdsProcess).toBe(false);
  });
});
