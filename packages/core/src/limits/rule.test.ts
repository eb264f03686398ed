import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { parseLimitRules } from "./rule.js";

describe("parseLimitRules (APFLOW_LIMITS)", () => {
  it("reads a JSON array of rules", () => {
    expect(
      parseLimitRules(
        '[{"scope":"global","maxRunning":2},{"scope":"user","key":"u1","rate":{"starts":1,"perMs":1000}}]',
      ),
    ).toEqual([
      { scope: "global", maxRunning: 2 },
      { scope: "user", key: "u1", rate: { starts: 1, perMs: 1000 } },
    ]);
  });

  it("names the source on bad JSON, a non-array, and each bad rule by index", () => {
    const fail = (text: string) => {
      try {
        parseLimitRules(text, "APFLOW_LIMITS");
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as ValidationError).errors.map((e) => e.path);
      }
      throw new Error("expected a refusal");
    };
    expect(fail("{nope")).toEqual(["APFLOW_LIMITS"]);
    expect(fail('{"scope":"global"}')).toEqual(["APFLOW_LIMITS"]);
    expect(fail('[{"scope":"global","maxRunning":1},{"scope":"root","maxRunning":-1}]')).toEqual([
      "APFLOW_LIMITS[1].maxRunning",
    ]);
  });
});
