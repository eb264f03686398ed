// One worker process of a measurement (forked by measure.mjs). Opens its system's worker, says
// `ready`, starts on `go`, reports handled jobs, answers `stats`, closes on `close`.
import { closeSync, openSync, writeSync } from "node:fs";
import { sleep } from "./lib/env.mjs";
import { installQueryCounter, queryCounts, resetQueryCounts } from "./lib/pg-count.mjs";

const spec = JSON.parse(process.argv[2]);
if (spec.instrument) installQueryCounter();
const system = await import(`./systems/${spec.module}.mjs`);

let handled = 0;
const log = spec.logFile ? openSync(spec.logFile, "a") : null;
const send = (message) => {
  if (process.connected) process.send(message);
};

// The handler. W4: a 50 ms job that writes its start and end synchronously (a SIGKILL loses
// nothing written) and reports both.
const onJob =
  spec.jobMs > 0
    ? async (key) => {
        writeSync(log, `S ${key} ${Date.now()}\n`);
        send({ t: "s" });
        await sleep(spec.jobMs);
        writeSync(log, `E ${key} ${Date.now()}\n`);
        send({ t: "e" });
      }
    : async () => {
        if (++handled % spec.reportEvery === 0) send({ t: "handled", n: handled });
      };

const worker = await system.openWorker(spec, onJob);
let cpu0 = process.cpuUsage();
let wall0 = performance.now();

process.on("message", async (message) => {
  if (message.t === "go") {
    resetQueryCounts();
    cpu0 = process.cpuUsage();
    wall0 = performance.now();
    await worker.start();
  } else if (message.t === "stats") {
    const cpu = process.cpuUsage(cpu0);
    send({
      t: "stats",
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: performance.now() - wall0,
      queries: spec.instrument ? queryCounts() : null,
    });
  } else if (message.t === "close") {
    await Promise.race([worker.close(), sleep(5000)]);
    if (log !== null) closeSync(log);
    send({ t: "closed" });
    process.exit(0);
  }
});
send({ t: "ready" });
