import { describe, expect, it } from "vitest";
import { ErrorCode, InvalidPlacementError } from "../errors.js";
import { Registry } from "../registry/registry.js";
import { placementFromSettings, placementGranularity } from "./config.js";

describe("placementFromSettings", () => {
  it("nothing set: undefined (the engine's default, capability)", () => {
    expect(placementFromSettings({})).toBeUndefined();
    expect(placementFromSettings({ strategy: " ", granularity: "" })).toBeUndefined();
  });

  it("built-in strategies and granularities", () => {
    expect(placementFromSettings({ strategy: "round-robin", granularity: "subtree" })).toEqual({
      strategy: "round-robin",
      granularity: "subtree",
    });
    expect(placementFromSettings({ strategy: " least-loaded " })).toEqual({ strategy: "least-loaded" });
    expect(placementFromSettings({ granularity: "root" })).toEqual({ granularity: "root" });
  });

  it("a name registered by a plugin selects its function", () => {
    const fn = () => null;
    const registry = new Registry().registerPlacement("by-region", fn);
    expect(placementFromSettings({ strategy: "by-region" }, registry)).toEqual({ strategy: fn });
  });

  it("a bad value is a typed error naming the setting and the choices", () => {
    const registry = new Registry().registerPlacement("by-region", () => null);
    expect(() => placementFromSettings({ strategy: "random" }, registry)).toThrow(
      'APFLOW_PLACEMENT must be one of capability, round-robin, least-loaded, affinity, by-region (a plugin may register more), got "random"',
    );
    expect(() =>
      placementFromSettings({ granularity: "branch" }, undefined, {
        strategy: "--placement",
        granularity: "--placement-granularity",
      }),
    ).toThrow('--placement-granularity must be one of task, subtree, root, got "branch"');
    try {
      placementGranularity("leaf");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidPlacementError);
      expect((err as InvalidPlacementError).code).toBe(ErrorCode.InvalidParams);
      expect((err as InvalidPlacementError).data).toEqual({ field: "APFLOW_PLACEMENT_GRANULARITY" });
    }
  });
});

describe("Registry.registerPlacement", () => {
  it("registers, lists and refuses duplicates, built-in names and bad names", () => {
    const registry = new Registry();
    const fn = () => null;
    registry.registerPlacement("mine", fn);
    expect(registry.getPlacement("mine")).toBe(fn);
    expect(registry.listPlacements()).toEqual(["mine"]);
    expect(() => registry.registerPlacement("mine", fn)).toThrow(/placement already registered: mine/);
    registry.registerPlacement("mine", () => "n1", { override: true });
    expect(registry.getPlacement("mine")).not.toBe(fn);
    expect(() => registry.registerPlacement("affinity", fn)).toThrow(/built-in strategy/);
    expect(() => registry.registerPlacement("has space", fn)).toThrow(/placement name must be/);
    expect(() => registry.registerPlacement("x", "n1" as never)).toThrow(/must be a function/);
  });
});
