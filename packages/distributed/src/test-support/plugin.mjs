// A plugin for the multi-process tests (loaded by `apflow worker` and apps/server through
// APFLOW_PLUGINS). `nap` sleeps `inputs.ms` and, when it returns, appends "<taskId> <node>" to
// APFLOW_TEST_RUN_LOG: a task listed twice ran to its end twice. `spin` is busy without yielding. `special` exists only where
// APFLOW_TEST_SPECIAL=1 (a node without it must never claim its tasks).
import { appendFileSync } from "node:fs";

const node = () => process.env.APFLOW_NODE_ID ?? `pid-${process.pid}`;

export default {
  name: "distributed-test-plugin",
  setup(registry) {
    const nap = (id) => ({
      id,
      cancelable: true,
      async execute(inputs, ctx) {
        const ms = Number(inputs.ms ?? 10);
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, ms);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(ctx.signal.reason ?? new Error("aborted"));
          });
        });
        if (process.env.APFLOW_TEST_RUN_LOG)
          appendFileSync(process.env.APFLOW_TEST_RUN_LOG, `${ctx.task.id} ${node()}\n`);
        return { by: node() };
      },
    });
    registry.registerExecutor(nap("nap"));
    // Busy for inputs.ms without yielding: a process stopped (SIGSTOP) inside it returns at once
    // when continued, before any of its timers (renewal, heartbeat) has run: a late write.
    registry.registerExecutor({
      id: "spin",
      execute(inputs) {
        const end = Date.now() + Number(inputs.ms ?? 10);
        while (Date.now() < end) {}
        return { by: node() };
      },
    });
    if (process.env.APFLOW_TEST_SPECIAL === "1") registry.registerExecutor(nap("special"));
  },
};
