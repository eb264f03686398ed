import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../auth/token.js";
import { rpc, testApp } from "../testing/fixtures.js";

/** tasks.resume, tasks.signal and tasks.list {status: "waiting"} over JSON-RPC, with auth. */
const SECRET = "waits-test-secret";
const { app, engine } = testApp({ auth: { jwtSecret: SECRET } });
const tokens: Record<string, string> = {};
const as = (who: string) => ({ authorization: `Bearer ${tokens[who]}` });

beforeAll(async () => {
  for (const sub of ["alice", "bob", "carol"]) tokens[sub] = await createToken({ secret: SECRET, sub });
  tokens.admin = await createToken({ secret: SECRET, sub: "root", roles: ["admin"] });
});
afterAll(async () => {
  await engine.stop({ graceMs: 0 });
});

async function waitingApproval(inputs: Record<string, unknown>, who = "alice"): Promise<string> {
  const created = await rpc(
    app,
    "tasks.create",
    { tasks: [{ name: "ok", params: { executorId: "approval" }, inputs }] },
    as(who),
  );
  const id = created.body.result.rootId as string;
  await rpc(app, "tasks.execute", { taskId: id }, as(who));
  await expect
    .poll(async () => (await rpc(app, "tasks.get", { taskId: id }, as(who))).body.result.status, { timeout: 20_000 })
    .toBe("waiting");
  return id;
}

describe("JSON-RPC: waiting tasks", () => {
  it("tasks.resume validates the answer (-32602 naming the field), checks approvers (-32004), first answer wins (-32006)", async () => {
    const id = await waitingApproval({
      prompt: "refund 120 EUR?",
      approvers: ["bob", "carol"],
      schema: { type: "object", properties: { amount: { type: "number" } }, required: ["amount"] },
    });
    const got = await rpc(app, "tasks.get", { taskId: id }, as("alice"));
    expect(got.body.result.wait).toMatchObject({ prompt: "refund 120 EUR?", approvers: ["bob", "carol"], answers: [] });
    expect(got.body.result.waiting).toMatchObject({ reason: "input", prompt: "refund 120 EUR?" });
    const listed = await rpc(app, "tasks.list", { status: "waiting" }, as("alice"));
    expect(listed.body.result.tasks.map((t: { id: string }) => t.id)).toEqual([id]);

    const bad = await rpc(app, "tasks.resume", { taskId: id, input: { approved: "yes", amount: 1 } }, as("admin"));
    expect(bad.body.error?.code).toBe(-32602);
    expect(bad.body.error?.data.errors[0].path).toBe("input.approved");
    const missing = await rpc(app, "tasks.resume", { taskId: id, input: { approved: true } }, as("admin"));
    expect(missing.body.error?.data.errors[0].path).toBe("input.amount");
    // The owner sees the task but is not an approver; a stranger does not see it at all.
    expect(
      (await rpc(app, "tasks.resume", { taskId: id, input: { approved: true, amount: 1 } }, as("alice"))).body.error
        ?.code,
    ).toBe(-32004);
    expect(
      (await rpc(app, "tasks.resume", { taskId: id, input: { approved: true, amount: 1 } }, as("bob"))).body.error
        ?.code,
    ).toBe(-32001);

    const ok = await rpc(app, "tasks.resume", { taskId: id, input: { approved: true, amount: 120 } }, as("admin"));
    expect(ok.body.result).toMatchObject({ resumed: true, task: { status: "pending" } });
    const again = await rpc(app, "tasks.resume", { taskId: id, input: { approved: true, amount: 120 } }, as("admin"));
    expect(again.body.error?.code).toBe(-32006);
    await expect
      .poll(async () => (await rpc(app, "tasks.get", { taskId: id }, as("alice"))).body.result.status, {
        timeout: 20_000,
      })
      .toBe("completed");
    const done = await rpc(app, "tasks.get", { taskId: id }, as("alice"));
    expect(done.body.result.result).toMatchObject({ approved: true, by: [{ userId: "root" }], input: { amount: 120 } });
  });

  it("tasks.resume with a rejection fails the task with REJECTED; tasks.signal resumes event waits", async () => {
    const id = await waitingApproval({ prompt: "p" });
    await rpc(app, "tasks.resume", { taskId: id, input: { approved: false, comment: "no" } }, as("alice"));
    await expect
      .poll(async () => (await rpc(app, "tasks.get", { taskId: id }, as("alice"))).body.result.error?.code, {
        timeout: 20_000,
      })
      .toBe("REJECTED");

    // No executor waits for an event here by default: a signal answers nothing, and says so.
    const none = await rpc(
      app,
      "tasks.signal",
      { event: "ticket.closed", key: "T-1", payload: { ok: true } },
      as("alice"),
    );
    expect(none.body.result).toEqual({ resumed: [], skipped: [] });
    const bad = await rpc(app, "tasks.signal", { key: "T-1" }, as("alice"));
    expect(bad.body.error?.code).toBe(-32602);
  });

  it("events of a waiting task carry their payloads", async () => {
    const id = await waitingApproval({ prompt: "p2" }, "carol");
    await rpc(app, "tasks.resume", { taskId: id, input: { approved: true } }, as("carol"));
    await expect
      .poll(async () => (await rpc(app, "tasks.get", { taskId: id }, as("carol"))).body.result.status, {
        timeout: 20_000,
      })
      .toBe("completed");
    const events = await engine.store.readEvents({ taskId: id });
    expect(events.find((e) => e.type === "task.waiting")?.data).toMatchObject({ prompt: "p2", required: 1 });
    expect(events.find((e) => e.type === "task.resumed")?.data).toEqual({ by: "carol", input: { approved: true } });
  });
});
