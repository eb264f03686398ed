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
          `\`${q.statement.replace(/\|/g, "/")}\``,
          (q.count / n).toFixed(3),
          int(q.count),
          int(q.ms),
          int((q.ms * 1000) / q.count),
        ]),
    ),
  );
  if (b.singles) {
    out.push("");
    out.push(
      `Enqueue as one-task trees instead (createTrees of ${b.singles.trees}, then one startExecution each, as there is no bulk start): ` +
        `${int(b.singles.trees / (b.singles.ms / 1000))} trees/s.`,
    );
  }
  return out.join("\n");
}
