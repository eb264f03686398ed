import { expect, it } from "vitest";
import { createExecutorContext } from "./testing.js";

it("createExecutorContext gives a live signal and records progress", async () => {
  const ctx = createExecutorContext({ task: { name: "x", inputs: { a: 1 } }, secrets: { k: "v" } });
  expect(ctx.task.name).toBe("x");
  expect(ctx.secrets).toEqual({ k: "v" });
  await ctx.reportProgress(0.5, "half");
  await ctx.checkpoint({ at: 1 });
  expect(ctx.progress).toEqual([{ progress: 0.5, message: "half" }]);
  expect(ctx.checkpoints).toEqual([{ at: 1 }]);
  expect(ctx.signal.aborted).toBe(false);
  ctx.abort("stop");
  expect(ctx.signal.aborted).toBe(true);
});
