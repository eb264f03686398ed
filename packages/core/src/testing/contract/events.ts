import { expect } from "vitest";
import type { Task } from "../../types.js";
import { at, claimAll, create, family, start } from "./support.js";

export const eventChecks = family("events", [
  {
    name: "events: monotonically increasing seq, read after a seq, filtered",
    async run(store) {
      const a = await create(store, [{ name: "ta" }]);
      const b = await create(store, [{ name: "tb" }]);
      const ida = (a.get("ta") as Task).id;
      const exec = await start(store, ida);
      const [c] = await claimAll(store);
      await store.reportProgress(ida, c?.leaseToken as string, 0.5, "half way", at(1));
      await store.finishTask(ida, c?.leaseToken as string, { status: "completed", result: 7 }, at(2));
      const all = await store.readEvents({ afterSeq: 0 });
      for (let i = 1; i < all.length; i++)
        expect((all[i] as { seq: number }).seq).toBeGreaterThan((all[i - 1] as { seq: number }).seq);
      const mine = await store.readEvents({ rootId: ida });
      expect(mine.map((e) => e.type)).toEqual([
        "task.created",
        "tree.started",
        "task.started",
        "task.progress",
        "task.completed",
        "tree.finished",
      ]);
      expect(mine[3]).toMatchObject({ progress: 0.5, message: "half way", status: "in_progress" });
      expect(mine[4]).toMatchObject({ result: 7, status: "completed", executionId: exec.id });
      const after = await store.readEvents({ rootId: ida, afterSeq: (mine[2] as { seq: number }).seq, limit: 2 });
      expect(after.map((e) => e.type)).toEqual(["task.progress", "task.completed"]);
      expect((await store.readEvents({ rootId: (b.get("tb") as Task).id })).map((e) => e.type)).toEqual([
        "task.created",
      ]);
      expect((await store.readEvents({ executionId: exec.id })).map((e) => e.type)).toEqual([
        "tree.started",
        "task.started",
        "task.progress",
        "task.completed",
        "tree.finished",
      ]);
      const appended = await store.appendEvents([
        {
          type: "task.progress",
          taskId: ida,
          rootId: ida,
          executionId: null,
          status: "completed",
          at: at(3).toISOString(),
        },
      ]);
      expect(appended[0]?.seq).toBeGreaterThan((all[all.length - 1] as { seq: number }).seq);
    },
  },
]);
