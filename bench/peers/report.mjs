// The one table of a `pnpm bench:peers` run (markdown, readable in a terminal too), the ratios
// of ours against each peer from the same run, the targets of issue 10, and the breakdown of
// where our PostgreSQL time goes.
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—");
const ms1 = (n) => (Number.isFinite(n) ? (n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US")) : "—");
const sec = (n) => (Number.isFinite(n) ? (n / 1000).toFixed(1) : "—");

/** Each row: a label, how to print a result, and which way is better (for the ratios). */
const ROWS = [
  {
    w: "W1",
    label: "W1 20,000 independent jobs, completed/s",
    value: (r) => r.completedPerSec,
    fmt: int,
    higher: true,
  },
  { w: "W1", label: "W1 enqueue (bulk of 1,000), jobs/s", value: (r) => r.enqueuePerSec, fmt: int, higher: true },
  {
    w: "W1",
    label: "W1 worker CPU per job, µs: Node / database server",
    cell: (r) =>
      `${int((r.nodeCpuMs * 1000) / r.jobs)} / ${r.dbCpuMs == null ? "—" : int((r.dbCpuMs * 1000) / r.jobs)}`,
  },
  { w: "W2", label: "W2 fan-in: root after 1,000 children, ms", value: (r) => r.fanInMs, fmt: ms1, higher: false },
  {
    w: "W3",
    label: "W3 enqueue→start latency p50 / p99, ms",
    value: (r) => r.p50,
    fmt: ms1,
    higher: false,
    cell: (r) => `${ms1(r.p50)} / ${ms1(r.p99)}${r.missed ? ` (${r.missed} never started)` : ""}`,
  },
  {
    w: "W4",
    label: "W4 kill→first re-run, s",
    value: (r) => r.killToFirstRerunMs ?? Number.NaN,
    cell: (r) => (r.killToFirstRerunMs == null ? `none in ${sec(r.waitedMs)} s` : sec(r.killToFirstRerunMs)),
    higher: false,
  },
  {
    w: "W4",
    label: "W4 kill→all done, s",
    value: (r) => r.killToAllDoneMs ?? Number.NaN,
    cell: (r) => (r.killToAllDoneMs == null ? `not in ${sec(r.waitedMs)} s` : sec(r.killToAllDoneMs)),
    higher: false,
  },
  {
    w: "W4",
    label: "W4 in flight at kill / started twice / ran to the end twice / lost",
    cell: (r) => `${r.inFlightAtKill} / ${r.startedTwice} / ${r.ranToEndTwice} / ${r.lost}`,
  },
];

const NOTES = `How each system was run (all: a fresh process per measurement, its own database / key prefix / file):
- W1, W4: enqueued by the measurement process, then worker process(es) forked, loaded and connected, and started on a
  message (the clock starts just before it); "completed" is what the store says (polled), not what handlers saw.
- W2, W3: producer and worker in one process, the worker started and idle; W3 runs for all systems at the same time
  (200 × a 50–550 ms idle is ~1 min each), each with its own idle sequence.
- ours: \`Engine\` + \`createPrismaStore\` (pool 10), lease 5 s, poll 1 s. The producer is an engine that does not
  claim (\`claim: false\`); a bulk of 1,000 jobs is one \`engine.submit()\` of 1,000 one-task trees, stored and queued in
  one transaction. W2: a root depending on 1,000 children, W3: one one-task tree, each one \`engine.submit()\` on the
  running engine (stored and queued in one statement on PostgreSQL).
  "2 workers": two worker processes (W1, W4 only).
- graphile-worker: concurrency 10, pool 12; "batched" adds its documented batching (localQueue size 500,
  completeJobBatchDelay 0, failJobBatchDelay 0, as on its performance page). W2: a counter row, the child reading 0
  adds the root. Its job lock is fixed at 4 h (no setting), so in W4 the killed worker's jobs (and, batched, its
  local queue) stay locked past the run: counted as lost here, run again ~4 h later.
- pg-boss: ten work() loops (pg-boss 10 has no concurrency setting) with batchSize 100 (W4: 10, so a batch fits the
  5 s expiry), polling every 0.5 s (its minimum); a batch completes in one statement. Expiry 5 s, maintenance every
  1 s, retryLimit 2. W2: a counter row.
- BullMQ: concurrency 10, lockDuration 5 s, stalledInterval 1 s; W2 is a flow (its native parent/children).
- W4 "lost": not completed in the store when waiting stopped (all done, or no progress for 6 s once lease + 4 s had
  passed after the kill). CPU per job: the worker processes (\`process.cpuUsage\`), and their PostgreSQL backends
  (/proc, found by application_name) or the Redis server (INFO cpu) — both shared with anyone else on the machine.`;

function table(header, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function cellOf(row, r) {
  if (!r) return "—";
  if (r.error) return `error: ${r.error.replace(/\|/g, "/").slice(0, 80)}`;
  return row.cell ? row.cell(r) : row.fmt(row.value(r));
}

export function renderReport({ systems, results, breakdown, meta }) {
  const out = [];
  out.push(
    `Peers bench, ${meta.date} — Node ${meta.node}, PostgreSQL ${meta.postgres}, ${meta.cpus} cores; ` +
      `no-op handlers (W4: 50 ms), concurrency ${meta.concurrency}, one worker process unless stated, ` +
      `lease/visibility ${meta.leaseMs / 1000} s; machine load (1/5/15 min) ${meta.loads.join("; ")}; ` +
      `run took ${meta.minutes.toFixed(1)} min.`,
  );
  out.push("");
  out.push(
    table(
      ["workload", ...systems],
      ROWS.map((row) => [row.label, ...systems.map((s) => cellOf(row, results[s]?.[row.w]))]),
    ),
  );

  // Ratios: how many times as fast as the peer (>1: ours is faster / better), same run.
  const ours = systems.filter((s) => s.startsWith("ours"));
  const peers = systems.filter((s) => !s.startsWith("ours"));
  const ratioRows = ROWS.filter((r) => r.value && r.higher !== undefined);
  if (ours.length > 0 && peers.length > 0) {
    out.push("");
    out.push("Ratios from this run: ours ÷ peer for rates, peer ÷ ours for times (> 1 means ours is ahead).");
    out.push("");
    const rows = [];
    for (const o of ours) {
      for (const row of ratioRows) {
        const mine = results[o]?.[row.w];
        if (!mine || mine.error) continue;
        const a = row.value(mine);
        if (!Number.isFinite(a)) continue;
        rows.push([
          `${o}: ${row.label.replace(/, (completed\/s|jobs\/s|ms|s)$/, "").replace(/ p50 \/ p99$/, " p50")}`,
          ...peers.map((p) => {
            const theirs = results[p]?.[row.w];
            const b = theirs && !theirs.error ? row.value(theirs) : Number.NaN;
            if (!Number.isFinite(b)) return "—";
            return `${(row.higher ? a / b : b / a).toFixed(2)}×`;
          }),
        ]);
      }
    }
    out.push(table(["ours vs", ...peers], rows));
  }

  out.push("");
  out.push(NOTES);
  out.push("");
  out.push(targets(results));
  if (breakdown) {
    out.push("");
    out.push(renderBreakdown(breakdown));
  }
  return out.join("\n");
}

function targets(results) {
  const get = (s, w) => {
    const r = results[s]?.[w];
    return r && !r.error ? r : null;
  };
  const lines = ["Targets of issue 10 (from this run):"];
  const check = (text, ok, figures) =>
    lines.push(`- ${ok === null ? "n/a " : ok ? "met " : "MISSED "}${text}: ${figures}`);
  const pg = get("ours, PostgreSQL", "W1");
  const gb = get("graphile batched", "W1");
  const gw = get("graphile-worker 0.17.3", "W1");
  const bq = get("BullMQ 6.7", "W1");
  const sq = get("ours, SQLite", "W1");
  const pg2 = get("ours, PostgreSQL, 2 workers", "W1");
  if (pg && gb)
    check(
      "PostgreSQL W1 ≥ graphile batched",
      pg.completedPerSec >= gb.completedPerSec,
      `${int(pg.completedPerSec)} vs ${int(gb.completedPerSec)} jobs/s`,
    );
  if (pg && gw)
    check(
      "PostgreSQL enqueue ≥ graphile-worker",
      pg.enqueuePerSec >= gw.enqueuePerSec,
      `${int(pg.enqueuePerSec)} vs ${int(gw.enqueuePerSec)} jobs/s`,
    );
  const pg2w = get("ours, PostgreSQL", "W2");
  const bq2 = get("BullMQ 6.7", "W2");
  if (pg2w && bq2)
    check("PostgreSQL W2 ≤ BullMQ", pg2w.fanInMs <= bq2.fanInMs, `${ms1(pg2w.fanInMs)} vs ${ms1(bq2.fanInMs)} ms`);
  const pg3 = get("ours, PostgreSQL", "W3");
  const bq3 = get("BullMQ 6.7", "W3");
  if (pg3 && bq3) check("PostgreSQL W3 p50 ≤ BullMQ", pg3.p50 <= bq3.p50, `${ms1(pg3.p50)} vs ${ms1(bq3.p50)} ms`);
  if (sq && bq)
    check(
      "SQLite W1 ≥ BullMQ",
      sq.completedPerSec >= bq.completedPerSec,
      `${int(sq.completedPerSec)} vs ${int(bq.completedPerSec)} jobs/s`,
    );
  if (pg && pg2)
    check(
      "PostgreSQL, 2 workers W1 ≥ 1.5 × one",
      pg2.completedPerSec >= 1.5 * pg.completedPerSec,
      `${int(pg2.completedPerSec)} vs ${int(pg.completedPerSec)} jobs/s (${(pg2.completedPerSec / pg.completedPerSec).toFixed(2)}×)`,
    );
  for (const s of Object.keys(results).filter((s) => s.startsWith("ours"))) {
    const r = get(s, "W4");
    if (!r) continue;
    const ok = r.killToFirstRerunMs != null && r.killToFirstRerunMs <= 6000 && r.lost === 0;
    check(
      `${s} W4 kill→first re-run ≤ lease + 1 s, nothing lost`,
      ok,
      `${sec(r.killToFirstRerunMs ?? Number.NaN)} s, ${r.lost} lost`,
    );
  }
  return lines.join("\n");
}

function renderBreakdown(b) {
  if (b.error) return `Breakdown: error: ${b.error}`;
  const n = b.jobs;
  const per = (x) => (x * 1000) / n;
  const queries = b.queries ?? [];
  const total = queries.reduce((s, q) => s + q.count, 0);
  const begins = queries.filter((q) => /^BEGIN/i.test(q.statement)).reduce((s, q) => s + q.count, 0);
  const out = [];
  out.push(
    `Where our PostgreSQL time goes (W1 again, ${int(n)} tasks, one worker process, every statement counted in the worker — ` +
      `pg_stat_statements is not loaded on this server and loading it needs a restart):`,
  );
  out.push("");
  out.push(
    table(
      ["per task", "value"],
      [
        ["wall time, µs", int(per(b.runMs))],
        ["worker CPU in Node, µs", int(per(b.nodeCpuMs))],
        ["CPU of its database backends, µs", b.dbCpuMs == null ? "—" : int(per(b.dbCpuMs))],
        [
          "wall time not spent on CPU (waiting: commit flushes, locks, a loaded machine's run queue), µs",
          b.dbCpuMs == null ? "—" : int(per(b.runMs - b.nodeCpuMs - b.dbCpuMs)),
        ],
        ["statements (= round trips)", (total / n).toFixed(2)],
        ["transactions (BEGIN … COMMIT)", (begins / n).toFixed(2)],
      ],
    ),
  );
  out.push("");
  out.push("Statements by count (client-side time: from send to result, includes waiting in Node's event loop):");
  out.push("");
  out.push(
    table(
      ["statement", "per task", "total", "ms total", "µs each"],
      queries
        .slice(0, 14)
        .map((q) => [
          `\`${q.statement.replace(/\|/g, "\\|")}\``,
          (q.count / n).toFixed(3),
          int(q.count),
          int(q.ms),
          int((q.ms * 1000) / q.count),
        ]),
    ),
  );
  if (b.enqueueTiming) {
    out.push("");
    const bulks = n / 1000;
    out.push(
      `Enqueue, per bulk of 1,000: engine.submit ${int(b.enqueueTiming.createMs / bulks)} ms ` +
        `(${int(b.enqueuePerSec)} jobs/s).`,
    );
  }
  const a = b.asyncCommit;
  if (a && !a.error) {
    const aq = a.queries ?? [];
    const lockOf = (qs) => qs.find((q) => q.statement.includes("pg_advisory_xact_lock"));
    const commitOf = (qs) => qs.find((q) => q.statement === "COMMIT");
    const each = (q) => (q ? int((q.ms * 1000) / q.count) : "—");
    out.push("");
    out.push(
      `The same run with synchronous_commit = off on the bench database (commits do not wait for the WAL flush): ` +
        `${int(a.completedPerSec)} tasks/s against ${int(b.completedPerSec)}; COMMIT ${each(commitOf(aq))} µs each ` +
        `against ${each(commitOf(queries))}, waiting for the events lock ${each(lockOf(aq))} µs against ${each(lockOf(queries))}; ` +
        `Node CPU ${int((a.nodeCpuMs * 1000) / a.jobs)} µs/task, backends ${a.dbCpuMs == null ? "—" : int((a.dbCpuMs * 1000) / a.jobs)} µs/task.`,
    );
  } else if (a?.error) {
    out.push("", `(synchronous_commit = off run: error: ${a.error})`);
  }
  const p = b.profile;
  if (p && !p.error) {
    const perTask = (ms) => int((ms * 1000) / p.jobs);
    out.push("");
    out.push(
      `Worker CPU by place (V8 CPU profile of a third run, ${int(p.jobs)} tasks; self time, ${perTask(p.busyMs)} µs/task busy):`,
    );
    out.push("");
    out.push(
      table(
        ["where", "µs per task", "share"],
        p.places.slice(0, 10).map((x) => [x.where, perTask(x.ms), `${Math.round((100 * x.ms) / p.busyMs)}%`]),
      ),
    );
    out.push("");
    out.push(
      table(
        ["function (self time)", "µs per task"],
        p.functions.map((f) => [`\`${f.fn.replace(/\|/g, "\\|")}\``, perTask(f.ms)]),
      ),
    );
  } else if (p?.error) {
    out.push("", `(profile run: error: ${p.error})`);
  }
  if (b.singles) {
    out.push("");
    out.push(
      `Enqueue as one-task trees instead (createTrees of ${b.singles.trees}, then one execute each, the path without submit): ` +
        `${int(b.singles.trees / (b.singles.ms / 1000))} trees/s.`,
    );
  }
  return out.join("\n");
}
