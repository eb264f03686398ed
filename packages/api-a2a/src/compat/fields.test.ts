import { inspect } from "node:util";
import type { Task } from "@aipartnerupflow/core";
import { describe, expect, it } from "vitest";
import { RENAMES, nodeOut, originalName, ourName, renameIn, taskIn, taskOut } from "./fields.js";
import { LlmKeyVault } from "./llm-keys.js";

const task = (over: Partial<Task>): Task => ({
  id: "t",
  parentId: null,
  rootId: "t",
  userId: "u",
  name: "n",
  status: "failed",
  priority: 2,
  dependencies: [],
  wait: null,
  placement: null,
  placedOn: null,
  inputs: {},
  params: {},
  schemas: { method: "echo", inputSchema: { type: "object" } },
  result: null,
  error: { code: "BOOM", message: "broke" },
  progress: 0.5,
  attempt: 1,
  retry: null,
  runAt: null,
  originalTaskId: null,
  hasChildren: false,
  metadata: {},
  createdAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:00:01.000Z",
  startedAt: null,
  completedAt: null,
  ...over,
});

describe("the rename table", () => {
  it("renames both ways, and one of ours back to a single original name", () => {
    for (const [original, ours] of Object.entries(RENAMES.task)) {
      expect(ourName("task", original)).toBe(ours);
      expect(originalName("task", ours)).toBe(original);
    }
    expect(ourName("params", "use_streaming")).toBe("stream");
    expect(originalName("params", "taskIds")).toBe("task_ids");
    expect(ourName("task", "inputs")).toBe("inputs");
  });

  it("ours wins when a caller sends both spellings", () => {
    expect(renameIn("task", { parent_id: "a", parentId: "b" })).toEqual({ parentId: "b" });
    expect(renameIn("params", { context_ids: ["x"], task_ids: ["y"] })).toEqual({ taskIds: ["x"] });
  });

  it("task items in, task dicts out (schemas keys and the error message too)", () => {
    expect(taskIn({ name: "a", parent_id: "r", schemas: { input_schema: { type: "object" } } })).toEqual({
      name: "a",
      parentId: "r",
      schemas: { inputSchema: { type: "object" } },
    });
    expect(taskIn({ name: "s", schemas: { method: "system_info_executor" } })).toEqual({
      name: "s",
      schemas: { method: "system_info" },
    });
    expect(taskIn({ name: "s", schemas: { method: "my_own" } })).toEqual({ name: "s", schemas: { method: "my_own" } });
    const out = taskOut(task({}));
    expect(out).toMatchObject({
      id: "t",
      parent_id: null,
      root_id: "t",
      user_id: "u",
      error: "broke",
      error_code: "BOOM",
      has_children: false,
      original_task_id: null,
      created_at: "2026-01-01T00:00:00.000Z",
      schemas: { method: "echo", input_schema: { type: "object" } },
    });
    expect(Object.keys(out).some((k) => /[A-Z]/.test(k))).toBe(false);
  });

  it("nodes carry the task's fields, the task again under `task`, and children", () => {
    const node = nodeOut(
      [task({ id: "r", rootId: "r" }), task({ id: "c", parentId: "r", rootId: "r" }), task({ id: "x", rootId: "x" })],
      "r",
    );
    expect(node?.id).toBe("r");
    expect(node?.task.id).toBe("r");
    expect(node?.children.map((c) => c.id)).toEqual(["c"]);
    expect(node?.children[0]?.task.parent_id).toBe("r");
    expect(nodeOut([], "r")).toBeNull();
  });
});

describe("LlmKeyVault", () => {
  it("keeps keys encrypted in memory and hands them out as secrets", () => {
    const vault = new LlmKeyVault();
    vault.set("u", "sk-plain-text-key", undefined);
    vault.set("u", "sk-anthropic-key", "Anthropic");
    expect(inspect(vault, { depth: 10 })).not.toContain("sk-plain-text-key");
    expect(JSON.stringify(vault)).not.toContain("sk-plain");
    expect(vault.providers("u")).toEqual({ default: "***", anthropic: "***" });
    expect(vault.secrets("u")).toEqual({ "llm:openai": "sk-plain-text-key", "llm:anthropic": "sk-anthropic-key" });
    expect(vault.secrets("other")).toBeUndefined();
    expect(vault.has("u", "anthropic")).toBe(true);
    expect(vault.delete("u", "anthropic")).toBe(true);
    expect(vault.delete("u")).toBe(true);
    expect(vault.has("u")).toBe(false);
  });

  it("refuses bad input and more keys than allowed", () => {
    const vault = new LlmKeyVault({ maxKeys: 1, maxProvidersPerUser: 1 });
    expect(() => vault.set("u", "", "openai")).toThrow(/api_key is required/);
    expect(() => vault.set("u", "k\nx", "openai")).toThrow(/one line/);
    expect(() => vault.set("u", "k", "bad provider!")).toThrow(/provider must be/);
    vault.set("u", "k", "openai");
    vault.set("u", "k2", "openai");
    expect(() => vault.set("u", "k", "google")).toThrow(/at most 1 providers/);
    expect(() => vault.set("v", "k", "google")).toThrow(/as many LLM keys/);
  });
});
