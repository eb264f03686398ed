import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ErrorCode, ValidationError } from "../errors.js";
import { Registry } from "../registry/registry.js";
import { validateTasks } from "./validate.js";

function issues(input: unknown, options: Parameters<typeof validateTasks>[1] = {}) {
  try {
    validateTasks(input, options);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).errors;
  }
  throw new Error("expected a validation error");
}

describe("validateTasks", () => {
  it("resolves references by id or name and fills defaults", () => {
    const [tree] = validateTasks(
      [
        { id: "r", name: "root", dependencies: ["child"] },
        { name: "child", parentId: "r", priority: 0, inputs: { a: 1 } },
      ],
      { now: new Date("2030-01-01T00:00:00Z"), userId: "u1" },
    );
    const [root, child] = tree ?? [];
    expect(root).toMatchObject({ id: "r", parentId: null, rootId: "r", priority: 2, status: "pending", userId: "u1" });
    expect(child).toMatchObject({
      parentId: "r",
      rootId: "r",
      priority: 0,
      inputs: { a: 1 },
      createdAt: "2030-01-01T00:00:00.000Z",
    });
    expect(root?.dependencies).toEqual([{ id: child?.id, required: true }]);
    expect(child?.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("puts parents before children whatever the request order", () => {
    const [tree] = validateTasks([
      { name: "grandchild", parentId: "child" },
      { name: "child", parentId: "root" },
      { name: "root" },
    ]);
    expect(tree?.map((t) => t.name)).toEqual(["root", "child", "grandchild"]);
  });

  it("reports every problem at once with paths and codes", () => {
    const found = issues([
      { name: "root" },
      { name: "" },
      { name: "dup", parentId: "root" },
      { name: "dup", parentId: "root" },
      { name: "x", parentId: "nowhere", priority: 7, dependencies: ["ghost", "x", "dup"] },
    ]);
    const codes = found.map((i) => `${i.path}:${i.code}`);
    expect(codes).toEqual(
      expect.arrayContaining([
        "tasks[1].name:too_small",
        "tasks[4].priority:too_big",
        "tasks[4].parentId:unknown_parent",
        "tasks[4].dependencies[0]:unknown_dependency",
        "tasks[4].dependencies[1]:self_dependency",
        "tasks[4].dependencies[2]:ambiguous_reference",
      ]),
    );
  });

  it("keeps a task's placement and refuses a bad one, naming the path", () => {
    const [tree] = validateTasks([
      { name: "root", placement: { requires: ["gpu"], prefers: ["cache:eu"] } },
      { name: "a", parentId: "root", placement: {} },
      { name: "b", parentId: "root", placement: null },
    ]);
    expect(tree?.map((t) => t.placement)).toEqual([{ requires: ["gpu"], prefers: ["cache:eu"] }, null, null]);
    const found = issues([
      { name: "root", placement: { requires: ["gpu"], needs: ["x"] } },
      { name: "a", parentId: "root", placement: { requires: ["ok", ""] } },
      { name: "b", parentId: "root", placement: { prefers: ["x".repeat(101)] } },
      { name: "c", parentId: "root", placement: { requires: Array.from({ length: 33 }, (_, i) => `t${i}`) } },
      { name: "d", parentId: "root", placement: { requires: "gpu" } },
      { name: "e", parentId: "root", placement: ["gpu"] },
    ]);
    const codes = found.map((i) => `${i.path}:${i.code}`);
    expect(codes).toEqual([
      "tasks[0].placement:unrecognized_keys",
      "tasks[1].placement.requires[1]:too_small",
      "tasks[2].placement.prefers[0]:too_big",
      "tasks[3].placement.requires:too_big",
      "tasks[4].placement.requires:invalid_type",
      "tasks[5].placement:invalid_type",
    ]);
    expect(found[0]?.message).toContain("needs");
  });

  it("refuses empty input, non-arrays and non-objects", () => {
    expect(issues([])[0]?.code).toBe("empty");
    expect(issues({ tasks: [] })[0]?.code).toBe("invalid_type");
    expect(issues([42])[0]).toMatchObject({ path: "tasks[0]", code: "invalid_type" });
  });

  it("needs exactly one root unless several trees are asked for", () => {
    expect(issues([{ name: "a" }, { name: "b" }]).map((i) => i.code)).toContain("multiple_roots");
    expect(validateTasks([{ name: "a" }, { name: "b" }], { trees: "many" })).toHaveLength(2);
    expect(
      issues([
        { name: "a", parentId: "b" },
        { name: "b", parentId: "a" },
      ]).map((i) => i.code),
    ).toEqual(expect.arrayContaining(["no_root", "unreachable"]));
  });

  it("finds dependency cycles and shows their path, with its own error code", () => {
    let error: ValidationError | undefined;
    try {
      validateTasks([
        { name: "root", dependencies: ["a"] },
        { name: "a", parentId: "root", dependencies: ["b"] },
        { name: "b", parentId: "root", dependencies: ["a"] },
      ]);
    } catch (err) {
      error = err as ValidationError;
    }
    expect(error?.code).toBe(ErrorCode.CircularDependency);
    expect(error?.errors[0]?.message).toBe("circular dependency: a -> b -> a");
  });

  it("handles a 10,000-deep chain without overflowing the stack", () => {
    const tasks = [
      { name: "t0" },
      ...Array.from({ length: 9999 }, (_, i) => ({ name: `t${i + 1}`, parentId: `t${i}`, dependencies: [`t${i}`] })),
    ];
    const [tree] = validateTasks(tasks);
    expect(tree).toHaveLength(10_000);
    tasks[0] = { name: "t0", dependencies: ["t9999"] } as (typeof tasks)[0];
    expect(issues(tasks)[0]?.code).toBe("circular_dependency");
  });

  it("refuses dependencies across trees", () => {
    const found = issues([{ name: "r1", dependencies: ["r2"] }, { name: "r2" }], { trees: "many" });
    expect(found.map((i) => i.code)).toContain("dependency_outside_tree");
  });

  it("checks executors and their input schemas, leaving open what dependencies may fill", () => {
    const registry = new Registry();
    registry.registerExecutor({
      id: "typed",
      inputSchema: z.object({ n: z.number(), label: z.string() }),
      execute: () => null,
    });
    const found = issues(
      [
        { name: "root", params: { executorId: "nope" } },
        { name: "bad", parentId: "root", params: { executorId: "typed" }, inputs: { n: "x", label: "ok" } },
        { name: "missing", parentId: "root", params: { executorId: "typed" }, inputs: { n: 1 } },
        {
          name: "filled-later",
          parentId: "root",
          params: { executorId: "typed" },
          inputs: { n: 1 },
          dependencies: ["missing"],
        },
        { name: "bad-id", parentId: "root", params: { executorId: 5 } },
      ],
      { registry },
    );
    expect(found.map((i) => `${i.path}:${i.code}`)).toEqual([
      "tasks[0].params.executorId:unknown_executor",
      "tasks[1].inputs.n:invalid_inputs",
      "tasks[2].inputs.label:invalid_inputs",
      "tasks[4].params.executorId:invalid_type",
    ]);
    registry.allowLateRegistration = true;
    expect(() => validateTasks([{ name: "root", params: { executorId: "later" } }], { registry })).not.toThrow();
  });

  it("new tasks start pending unless finished tasks are allowed (copies)", () => {
    expect(issues([{ name: "r", status: "completed" }])[0]?.code).toBe("invalid_status");
    const [tree] = validateTasks([{ name: "r", status: "completed", result: 5 }], { allowFinishedTasks: true });
    expect(tree?.[0]).toMatchObject({ status: "completed", result: 5, progress: 1 });
  });

  it("an unknown executor alone is -32003 (executor not found), keeping data.errors; mixed with others -32602", () => {
    const registry = new Registry();
    registry.registerExecutor({ id: "known", execute: () => null });
    let error: ValidationError | undefined;
    try {
      validateTasks(
        [
          { name: "root", params: { executorId: "nope" } },
          { name: "child", parentId: "root", params: { executorId: "also-nope" } },
        ],
        { registry },
      );
    } catch (err) {
      error = err as ValidationError;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect(error?.code).toBe(ErrorCode.ExecutorNotFound);
    expect(error?.toJSON()).toEqual({
      code: ErrorCode.ExecutorNotFound,
      message: 'tasks[0].params.executorId: unknown executor "nope" (and 1 more problem)',
      data: {
        errors: [
          { path: "tasks[0].params.executorId", code: "unknown_executor", message: 'unknown executor "nope"' },
          { path: "tasks[1].params.executorId", code: "unknown_executor", message: 'unknown executor "also-nope"' },
        ],
      },
    });
    try {
      validateTasks([{ name: "root", params: { executorId: "nope" }, priority: 9 }], { registry });
    } catch (err) {
      error = err as ValidationError;
    }
    expect(error?.code).toBe(ErrorCode.InvalidParams);
    expect(error?.errors.map((i) => i.code).sort()).toEqual(["too_big", "unknown_executor"]);
  });
});
