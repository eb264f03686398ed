import { describe, expect, it } from "vitest";
import { ErrorCode, ValidationError } from "../errors.js";
import { Engine } from "../engine/engine.js";
import { Registry } from "../registry/registry.js";
import { MemoryStore } from "../store/memory-store.js";
import { validatePatch } from "../store/patch.js";
import { validateTasks } from "../tree/validate.js";
import { isPlainTaskInput } from "./plain-input.js";
import { MAX_JSON_DEPTH, findJsonProblem, taskInputSchema } from "./schemas.js";

function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error("expected a validation error");
}

/** `{a: {a: ... {}}}` nested `levels` deep, built without recursion. */
function nested(levels: number): Record<string, unknown> {
  const top: Record<string, unknown> = {};
  let at = top;
  for (let i = 0; i < levels; i++) {
    const next: Record<string, unknown> = {};
    at.a = next;
    at = next;
  }
  return top;
}

describe("JSON fields: the nesting limit", () => {
  it("a value nested 100,000 levels is refused for its depth, naming the limit and the field", () => {
    const error = refusal(() => validateTasks([{ name: "deep", inputs: nested(100_000) }]));
    expect(error.code).toBe(ErrorCode.InvalidParams);
    expect(error.errors).toEqual([
      {
        path: "tasks[0].inputs",
        code: "too_deep",
        message: `nesting limit exceeded: objects and arrays in task fields may nest at most ${MAX_JSON_DEPTH} levels deep`,
      },
    ]);
    expect(error.message).toContain("tasks[0].inputs: nesting limit exceeded");
  });

  it("the limit is exact: 100 levels pass, 101 do not; arrays count like objects", () => {
    expect(findJsonProblem(nested(MAX_JSON_DEPTH))).toBeNull();
    expect(findJsonProblem(nested(MAX_JSON_DEPTH + 1))?.code).toBe("too_deep");
    let arr: unknown[] = [];
    for (let i = 0; i < 200; i++) arr = [arr];
    expect(findJsonProblem({ list: arr })).toMatchObject({ code: "too_deep", path: [] });
  });

  it("other non-JSON values say what is wrong, and where", () => {
    const found = refusal(() =>
      validateTasks([
        { name: "r", inputs: { n: Number.NaN }, metadata: { when: new Date(0) }, params: { list: [1, () => 1] } },
      ]),
    ).errors;
    expect(found.map((i) => `${i.path}:${i.code}`).sort()).toEqual([
      "tasks[0].inputs.n:not_json",
      "tasks[0].metadata.when:not_json",
      "tasks[0].params.list[1]:not_json",
    ]);
    expect(found.find((i) => i.path === "tasks[0].metadata.when")?.message).toContain("Date");
    expect(refusal(() => validateTasks([{ name: "r", inputs: [1] }])).errors[0]).toMatchObject({
      path: "tasks[0].inputs",
      code: "invalid_type",
      message: "must be a JSON object",
    });
  });

  it("updates refuse too-deep values the same way", () => {
    expect(refusal(() => validatePatch({ metadata: nested(500) as never })).errors[0]).toMatchObject({
      path: "metadata",
      code: "too_deep",
    });
  });
});

describe("strings: ill-formed UTF-16 is refused, never stored changed", () => {
  const lone = "lone \ud800 surrogate";

  it("a lone surrogate in any string field is refused with -32602 naming the field", () => {
    const error = refusal(() =>
      validateTasks([
        {
          id: `id-\udfff`,
          name: lone,
          userId: "u\ud800",
          inputs: { note: lone, list: ["ok", "\udc00x"], "k\ud801": 1 },
          params: { executorId: "work\ud800" },
          schemas: { title: lone },
          metadata: { deep: { deeper: lone } },
          retry: { maxAttempts: 2, retryOn: ["X\ud800"] },
        },
        { name: "child", parentId: `id-\udfff`, dependencies: [{ id: "\ud800" }, "\udbff"] },
      ]),
    );
    expect(error.code).toBe(ErrorCode.InvalidParams);
    const where = error.errors.filter((i) => i.code === "ill_formed_string").map((i) => i.path);
    expect(where.sort()).toEqual(
      [
        "tasks[0].id",
        "tasks[0].name",
        "tasks[0].userId",
        "tasks[0].inputs.note",
        "tasks[0].inputs.list[1]",
        "tasks[0].inputs",
        "tasks[0].params.executorId",
        "tasks[0].schemas.title",
        "tasks[0].metadata.deep.deeper",
        "tasks[0].retry.retryOn[0]",
        "tasks[1].parentId",
        "tasks[1].dependencies[0].id",
        "tasks[1].dependencies[1]",
      ].sort(),
    );
    const name = error.errors.find((i) => i.path === "tasks[0].name");
    expect(name?.message).toContain("lone surrogate U+D800 at index 5");
    // The key is named, escaped, so the answer itself is well-formed.
    const key = error.errors.find((i) => i.path === "tasks[0].inputs" && i.code === "ill_formed_string");
    expect(key?.message).toContain('key "k\\ud801"');
  });

  it("well-formed text, surrogate pairs included, is accepted unchanged", () => {
    const text = "emoji 😀 and 𝄞, accents é, CJK 漢字";
    const [tree] = validateTasks([{ name: text, inputs: { [text]: text } }]);
    expect(tree?.[0]?.name).toBe(text);
    expect(tree?.[0]?.inputs).toEqual({ [text]: text });
  });

  it("nothing is created, and updates are refused the same way", async () => {
    const store = new MemoryStore();
    const engine = new Engine({ store, registry: new Registry() });
    await expect(engine.createTree([{ name: lone }])).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      data: { errors: [{ path: "tasks[0].name", code: "ill_formed_string" }] },
    });
    expect((await store.listTasks()).total).toBe(0);
    const [task] = await engine.createTree([{ name: "fine" }]);
    await expect(store.updateTask((task as { id: string }).id, { name: lone }, new Date())).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
    });
    expect(refusal(() => validatePatch({ inputs: { a: lone } })).errors[0]).toMatchObject({
      path: "inputs.a",
      code: "ill_formed_string",
    });
    expect((await store.getTask((task as { id: string }).id))?.name).toBe("fine");
  });
});

describe("isPlainTaskInput (the check without zod)", () => {
  const lone = "a\ud800b";
  const long = "x".repeat(201);
  const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { name: "n" });
  const holey: unknown[] = [];
  holey[1] = "x";
  class Shaped {
    name = "n";
  }
  // Each case: a task, and whether the quick check decides it (it must then agree with zod).
  const cases: Array<[string, unknown, boolean]> = [
    ["name only", { name: "a" }, true],
    ["padded name", { name: `  ${"y".repeat(200)}  ` }, true],
    [
      "the common shape",
      {
        id: "t1",
        name: "a",
        parentId: "r",
        userId: null,
        priority: 3,
        dependencies: ["x", { id: "y", required: false }],
        inputs: { a: [1, "b", null] },
        params: { executorId: "e" },
        schemas: {},
        metadata: { m: true },
      },
      true,
    ],
    ["unknown fields pass through", { name: "a", extra: { anything: 1 } }, true],
    ["a null-prototype task", nullProto, true],
    ["empty name", { name: "   " }, false],
    ["long name", { name: long }, false],
    ["no name", { id: "x" }, false],
    ["ill-formed name", { name: lone }, false],
    ["empty id", { id: "", name: "a" }, false],
    ["long id", { id: long, name: "a" }, false],
    ["ill-formed id", { id: lone, name: "a" }, false],
    ["empty parentId", { name: "a", parentId: "" }, false],
    ["numeric userId", { name: "a", userId: 1 }, false],
    ["null priority", { name: "a", priority: null }, false],
    ["priority 4", { name: "a", priority: 4 }, false],
    ["fractional priority", { name: "a", priority: 1.5 }, false],
    ["dependencies not an array", { name: "a", dependencies: "x" }, false],
    ["empty dependency", { name: "a", dependencies: [""] }, false],
    ["dependency of another type", { name: "a", dependencies: [1] }, false],
    ["dependency without id", { name: "a", dependencies: [{ required: true }] }, false],
    ["dependency with a string required", { name: "a", dependencies: [{ id: "x", required: "no" }] }, false],
    ["dependency that is an array", { name: "a", dependencies: [["x"]] }, false],
    ["a hole in dependencies", { name: "a", dependencies: holey }, false],
    ["inputs an array", { name: "a", inputs: [] }, false],
    ["inputs null", { name: "a", inputs: null }, false],
    ["inputs with NaN", { name: "a", inputs: { n: Number.NaN } }, false],
    ["params with a Date", { name: "a", params: { d: new Date() } }, false],
    ["metadata too deep", { name: "a", metadata: nested(MAX_JSON_DEPTH + 2) }, false],
    ["a retry policy (left to zod)", { name: "a", retry: { maxAttempts: 2 } }, false],
    ["a status (left to zod)", { name: "a", status: "pending" }, false],
    ["a class instance", new Shaped(), false],
    ["an array", [], false],
  ];
  it.each(cases)("%s", (_label, task, decided) => {
    expect(isPlainTaskInput(task)).toBe(decided);
    if (decided) expect(taskInputSchema.safeParse(task).success).toBe(true);
  });

  it("trees of both kinds validate alike", () => {
    const plain = validateTasks([
      { id: "r", name: " root " },
      { id: "c", name: "c", parentId: "r", dependencies: ["r"] },
    ]);
    const viaZod = validateTasks([
      { id: "r", name: " root ", retry: null },
      { id: "c", name: "c", parentId: "r", dependencies: ["r"], runAt: null },
    ]);
    const strip = (tree: ReturnType<typeof validateTasks>) =>
      tree.map((t) => t.map(({ createdAt: _c, ...rest }) => rest));
    expect(strip(plain)).toEqual(strip(viaZod));
  });
});
