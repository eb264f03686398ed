import { describe, expect, it } from "vitest";
import { NODE_ENV, nodeConfigFromEnv } from "./env.js";

describe("nodeConfigFromEnv: placement", () => {
  it("reads APFLOW_PLACEMENT (resolved later against the registry) and APFLOW_PLACEMENT_GRANULARITY", () => {
    expect(
      nodeConfigFromEnv({ APFLOW_PLACEMENT: " least-loaded ", APFLOW_PLACEMENT_GRANULARITY: "root" }),
    ).toMatchObject({
      placement: "least-loaded",
      placementGranularity: "root",
    });
    // A plugin's placement function is named so too: not checked here.
    expect(nodeConfigFromEnv({ APFLOW_PLACEMENT: "by-region" }).placement).toBe("by-region");
    expect(nodeConfigFromEnv({})).toMatchObject({ placement: undefined, placementGranularity: undefined });
    expect(NODE_ENV).toEqual(expect.arrayContaining(["APFLOW_PLACEMENT", "APFLOW_PLACEMENT_GRANULARITY"]));
  });

  it("refuses a bad granularity by name", () => {
    expect(() => nodeConfigFromEnv({ APFLOW_PLACEMENT_GRANULARITY: "leaf" })).toThrow(
      'APFLOW_PLACEMENT_GRANULARITY must be one of task, subtree, root, got "leaf"',
    );
  });
});
