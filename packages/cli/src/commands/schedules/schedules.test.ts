import { join } from "node:path";
import type { ScheduleRunView, ScheduleView } from "@aipartnerupflow/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EXAMPLES, STACK_LINE, eventually, parseJson, runCli, startServe, tempDir } from "../../test-util/cli.js";
import { parseEvery } from "./index.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const cli = (...args: string[]) => runCli(args, { cwd: dir });
const hello = join(EXAMPLES, "hello-world.json");

describe("apflow schedules on the local store", () => {
  it("create, list with next fire times, get, trigger (runs here), runs, update and delete", {
    timeout: 60_000,
  }, async () => {
    const created = await cli("schedules", "create", hello, "--cron", "0 9 * * 1-5", "--tz", "Europe/Paris", "--json");
    expect(created.code).toBe(0);
    const s = parseJson<ScheduleView>(created);
    expect(s).toMatchObject({
      name: "hello-world",
      trigger: { type: "cron", expression: "0 9 * * 1-5", timezone: "Europe/Paris" },
    });
    expect(s.nextFireAt).toMatch(/T0[78]:00:00\.000Z$/);

    const list = await cli("schedules", "list");
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID\s+NAME\s+TRIGGER\s+NEXT FIRE\s+RUNS\s+STATE$/m);
    expect(list.stdout).toContain(`${s.id}  hello-world  cron "0 9 * * 1-5" Europe/Paris`);
    expect(list.stdout).toContain((s.nextFireAt as string).replace("T", " ").replace(".000Z", "Z"));

    const get = await cli("schedules", "get", s.id);
    expect(get.stdout).toMatch(/^next fire\s+\d{4}-\d\d-\d\d \d\d:00:00Z$/m);

    const fired = await cli("schedules", "trigger", s.id);
    expect(fired.code).toBe(0);
    expect(fired.stdout).toMatch(/^fired .+: tree \S+ completed$/m);

    const runs = parseJson<{ runs: ScheduleRunView[] }>(await cli("schedules", "runs", s.id, "--json")).runs;
    expect(runs).toEqual([expect.objectContaining({ status: "completed", manual: true })]);
    const tree = await cli("tasks", "tree", runs[0]?.rootId as string);
    expect(tree.stdout).toMatch(/system-report\s+completed/);
    expect((await cli("schedules", "runs", s.id)).stdout).toMatch(
      /^FIRE TIME\s+STATUS\s+ROOT\s+KIND\n.+completed .+manual$/m,
    );

    const updated = parseJson<ScheduleView>(
      await cli("schedules", "update", s.id, "--every", "15m", "--overlap", "skip", "--disable", "--json"),
    );
    expect(updated).toMatchObject({ trigger: { type: "interval", everyMs: 900_000 }, overlap: "skip", enabled: false });
    expect(updated.nextFireAt).toBeNull();
    expect((await cli("schedules", "list")).stdout).toMatch(/every 15m\s+-\s+0\s+disabled/);

    expect((await cli("schedules", "delete", s.id)).code).toBe(0);
    const gone = await cli("schedules", "get", s.id);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain(`schedule not found: ${s.id}`);
  });

  it("bad input exits 2 naming the field, without a stack trace", async () => {
    const badCron = await cli("schedules", "create", hello, "--cron", "61 * * * *");
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toMatch(/trigger\.expression: invalid cron expression/);
    const badZone = await cli("schedules", "create", hello, "--cron", "0 9 * * *", "--tz", "Mars/Olympus");
    expect(badZone.code).toBe(2);
    expect(badZone.stderr).toContain('trigger.timezone: unknown time zone "Mars/Olympus"');
    const ends = await cli(
      "schedules",
      "create",
      hello,
      "--every",
      "1h",
      "--start-at",
      "2030-02-01T00:00:00Z",
      "--end-at",
      "2030-01-01T00:00:00Z",
    );
    expect(ends.code).toBe(2);
    expect(ends.stderr).toContain("endAt: endAt must be after startAt");
    const none = await cli("schedules", "create", hello);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("a schedule needs a trigger");
    const two = await cli("schedules", "create", hello, "--every", "1h", "--at", "2030-01-01T00:00:00Z");
    expect(two.code).toBe(2);
    for (const r of [badCron, badZone, ends, none, two]) expect(r.stderr).not.toMatch(STACK_LINE);
    expect(parseEvery("90s")).toBe(90_000);
    expect(parseEvery("1500")).toBe(1500);
    expect(() => parseEvery("soon")).toThrow(/--every takes a duration/);
  });
});

describe("apflow schedules in remote mode against apflow serve", () => {
  it("the server fires a schedule at its time; the CLI shows it", { timeout: 60_000 }, async () => {
    const server = await startServe({ cwd: dir });
    try {
      const env = { APFLOW_SERVER: server.url };
      const at = new Date(Date.now() + 1500).toISOString();
      const created = await runCli(["schedules", "create", hello, "--at", at, "--name", "soon", "--json"], {
        cwd: dir,
        env,
      });
      expect(created.code).toBe(0);
      const s = parseJson<ScheduleView>(created);
      expect(s.nextFireAt).toBe(at);
      const runs = await eventually(async () => {
        const r = parseJson<{ runs: ScheduleRunView[] }>(
          await runCli(["schedules", "runs", s.id, "--json"], { cwd: dir, env }),
        ).runs;
        return r[0]?.status === "completed" ? r : undefined;
      });
      expect(runs).toEqual([{ fireAt: at, rootId: expect.any(String), status: "completed", manual: false }]);
      const list = await runCli(["schedules", "list"], { cwd: dir, env });
      expect(list.stdout).toMatch(/soon\s+once at .+\s+-\s+1\s+ended/);
      const fired = await runCli(["schedules", "trigger", s.id], { cwd: dir, env });
      expect(fired.stdout).toMatch(/\(running on the server\)$/m);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });
});
