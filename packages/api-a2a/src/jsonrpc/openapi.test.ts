import { nodeRegistration } from "@aipartnerupflow/core/testing";
import { Engine, MemoryStore } from "@aipartnerupflow/core";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../app.js";
import type { ServerHandle } from "../server.js";
import { listen, smallTree, testRegistry } from "../testing/fixtures.js";
import { METHODS } from "./methods.js";

const registry = testRegistry();
registry.registerExecutor({
  id: "generate_tree",
  description: "test double: answers a fixed task array",
  execute: (inputs) => ({
    tasks: [{ name: "generated", inputs: { from: (inputs as { requirement: string }).requirement } }],
  }),
});
const engine = new Engine({ store: new MemoryStore(), registry, pollIntervalMs: 50 });
const app = createApp({ engine });
let server: ServerHandle;
let doc: any;
let ajv: InstanceType<typeof Ajv2020>;

beforeAll(async () => {
  await engine.start();
  server = await listen(app);
  doc = await (await fetch(`${server.url}/openapi.json`)).json();
  ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: unknown) => void)(ajv);
  ajv.addSchema({ $id: "urn:apflow:openapi", components: doc.components });
});
afterAll(async () => {
  await engine.stop({ graceMs: 0 });
  await server.close();
});

/** Validate a value against a component schema of the served document. */
function check(name: string, value: unknown): void {
  const validate = ajv.getSchema(`urn:apflow:openapi#/components/schemas/${name}`);
  expect(validate, name).toBeTypeOf("function");
  const valid = (validate as (v: unknown) => boolean)(value);
  expect(valid ? [] : (validate as unknown as { errors: unknown[] }).errors, name).toEqual([]);
}

const checked = new Set<string>();

/** Call a method on the real server, checking its params and its result against the document. */
async function call(method: string, params: Record<string, unknown>): Promise<any> {
  const key = method.replace(/\./g, "_");
  check(`${key}_params`, params);
  const res = await fetch(`${server.url}/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: unknown };
  expect(body.error, method).toBeUndefined();
  check(`${key}_result`, body.result);
  checked.add(method);
  return body.result;
}

describe("the OpenAPI document", () => {
  it("publishes a params and a result schema for every method, with typed task items", () => {
    for (const m of METHODS) {
      const key = m.name.replace(/\./g, "_");
      expect(doc.components.schemas[`${key}_params`], m.name).toBeDefined();
      expect(doc.components.schemas[`${key}_result`], m.name).toBeDefined();
    }
    const createDoc = doc.components.schemas.tasks_create_params;
    expect(createDoc.properties.tasks.items).toEqual({ $ref: "#/components/schemas/TaskInput" });
    const input = doc.components.schemas.TaskInput;
    for (const field of ["name", "parentId", "dependencies", "inputs", "params", "priority", "retry"]) {
      expect(input.properties[field], field).toBeDefined();
    }
    expect(input.required).toEqual(["name"]);
    expect(doc.components.schemas.Task.properties.status.enum).toContain("completed");
    expect(doc.components.schemas.Task.properties.inputs.type).toBe("object");
    const envelope = doc.paths["/tasks"].post.requestBody.content["application/json"].schema.oneOf.find(
      (e: { title: string }) => e.title === "tasks.get",
    );
    expect(envelope["x-result"]).toEqual({ $ref: "#/components/schemas/tasks_get_result" });
    expect(envelope.description).toMatch(/-32001 task not found/);
    // The schemas do reject what a method does not answer.
    const task = ajv.getSchema("urn:apflow:openapi#/components/schemas/tasks_get_result") as (v: unknown) => boolean;
    expect(task({ id: "x" })).toBe(false);
    const create = ajv.getSchema("urn:apflow:openapi#/components/schemas/tasks_create_params") as (
      v: unknown,
    ) => boolean;
    expect(create({ tasks: [{ params: {} }] })).toBe(false);
    expect(create({ tasks: [{ name: "ok", priority: 7 }] })).toBe(false);
  });

  it("cites no document a reader cannot open", async () => {
    const text = JSON.stringify(doc);
    expect(text).not.toMatch(/SPEC|§/);
    const page = await (await fetch(`${server.url}/docs`)).text();
    expect(page).not.toMatch(/SPEC|§/);
    expect(page).toContain("result");
  });

  it("/docs renders every method with its params, result and errors from the served document", async () => {
    const page = await (await fetch(`${server.url}/docs`)).text();
    const script = page.split("<script>")[1]?.split("</script>")[0] as string;
    const out = { innerHTML: "", textContent: "" };
    const served = doc;
    const fakeFetch = async (url: string) => {
      expect(url).toBe("openapi.json");
      return { ok: true, json: async () => served };
    };
    // The page's own script, run against the served document (no browser on CI).
    await new Promise<void>((resolve, reject) => {
      const target = {
        getElementById: () =>
          new Proxy(out, {
            set(o, key, value) {
              (o as Record<string | symbol, unknown>)[key] = value;
              resolve();
              return true;
            },
          }),
      };
      try {
        new Function("fetch", "document", script)(fakeFetch, target);
      } catch (err) {
        reject(err);
      }
    });
    expect(out.textContent).toBe("");
    for (const m of METHODS) expect(out.innerHTML).toContain(`<h3 id="${m.name}"><code>${m.name}</code>`);
    expect(out.innerHTML.match(/<h4>result<\/h4>/g)).toHaveLength(METHODS.length);
    expect(out.innerHTML).toContain("-32001 task not found");
    expect(out.innerHTML).toContain('<h3 id="Task">');
  });

  it("describes what every method really answers (checked on a real server)", { timeout: 60_000 }, async () => {
    const tree = smallTree("doc");
    // A task's placement is accepted and shown (prefers only: this server's engine has no tags).
    (tree[1] as Record<string, unknown>).placement = { prefers: ["cache:eu"] };
    const created = await call("tasks.create", { tasks: tree });
    const rootId = created.rootId as string;
    const child = created.tasks.find((t: { parentId: string | null }) => t.parentId === rootId).id as string;
    expect(created.tasks.find((t: { id: string }) => t.id === child)).toMatchObject({
      placement: { prefers: ["cache:eu"] },
      placedOn: null,
    });
    await call("tasks.get", { taskId: rootId });
    await call("tasks.update", { taskId: child, priority: 1 });
    await call("tasks.children", { parentId: rootId });
    await call("tasks.tree", { taskId: rootId });
    await call("tasks.tree", { taskId: rootId, format: "flat" });
    await call("tasks.execute", { taskId: rootId, wait: true });
    await call("tasks.detail", { taskId: rootId });
    await call("tasks.list", { rootsOnly: true });
    await call("tasks.count", {});
    await call("tasks.events", { rootId });
    await call("tasks.copy", { taskId: rootId, mode: "full" });
    await call("tasks.copy", { taskId: rootId, save: false });
    const slow = await call("tasks.create", { tasks: [{ name: "doc-slow", params: { executorId: "wait" } }] });
    await call("tasks.execute", { taskId: slow.rootId });
    await call("tasks.running.list", {});
    await call("tasks.running.status", { taskIds: [slow.rootId, "missing"] });
    await call("tasks.running.count", {});
    await call("tasks.queue.stats", {});
    await call("tasks.cancel", { taskId: slow.rootId });
    const gate = await call("tasks.create", {
      tasks: [{ name: "doc-approval", params: { executorId: "approval" }, inputs: { prompt: "ok?", required: 2 } }],
    });
    await call("tasks.execute", { taskId: gate.rootId });
    await expect
      .poll(async () => (await call("tasks.get", { taskId: gate.rootId })).status, { timeout: 20_000 })
      .toBe("waiting");
    await call("tasks.get", { taskId: gate.rootId });
    await call("tasks.resume", { taskId: gate.rootId, input: { approved: true } });
    await call("tasks.events", { rootId: gate.rootId });
    await call("tasks.signal", { event: "doc.event", key: "k", payload: { ok: true } });
    await call("tasks.cancel", { taskId: gate.rootId });
    await call("tasks.generate", { requirement: "one task" });
    await call("tasks.plan", { requirement: "one task", run: false });
    await call("executors.list", {});
    await call("system.health", {});
    const spare = await call("tasks.create", { tasks: [{ name: "doc-delete", params: { executorId: "echo" } }] });
    await call("tasks.delete", { taskId: spare.rootId });
    const schedule = await call("schedules.create", {
      name: "doc-schedule",
      tasks: smallTree("doc-s"),
      trigger: { type: "cron", expression: "0 9 * * *", timezone: "Europe/Paris" },
    });
    await call("schedules.get", { scheduleId: schedule.id });
    await call("schedules.list", {});
    await call("schedules.update", { scheduleId: schedule.id, overlap: "skip" });
    await call("schedules.trigger", { scheduleId: schedule.id });
    await call("schedules.runs", { scheduleId: schedule.id });
    await call("schedules.delete", { scheduleId: schedule.id });
    await engine.store.nodes?.register(nodeRegistration("doc-node"), engine.clock());
    await call("nodes.list", {});
    await call("nodes.get", { nodeId: "doc-node" });
    await call("nodes.drain", { nodeId: "doc-node" });
    await call("nodes.requeue", { nodeId: "doc-node", force: true });
    await call("nodes.events", {});
    await call("limits.set", { scope: "user", key: "u1", maxRunning: 2 });
    await call("limits.get", { scope: "user", key: "u1" });
    await call("limits.list", {});
    await call("limits.delete", { scope: "user", key: "u1" });
    expect([...checked].sort()).toEqual(METHODS.map((m) => m.name).sort());
  });
});
