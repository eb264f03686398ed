import { describe, expect, it } from "vitest";
import { ErrorCode, ValidationError } from "../errors.js";
import { validatePatch } from "../store/patch.js";
import { validateTasks } from "../tree/validate.js";
import { MAX_JSON_DEPTH, findJsonProblem } from "./schemas.js";

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
