import { describe, expect, it } from "vitest";
import { closestSetting, describeUnknownSetting, findUnknownSettings } from "./settings.js";

describe("unknown APFLOW_* settings", () => {
  it("lists each unknown variable with the known one it most likely meant", () => {
    const env = {
      APFLOW_DB: "x.db",
      APFLOW_DATABSE_URL: "x.db",
      APFLOW_CONCURENCY: "3",
      APFLOW_PLUGINS: "a",
      APFLOW_SOMETHING_ELSE_ENTIRELY: "1",
      PATH: "/bin",
    };
    expect(findUnknownSettings(env)).toEqual([
      { name: "APFLOW_CONCURENCY", suggestion: "APFLOW_CONCURRENCY" },
      { name: "APFLOW_DATABSE_URL", suggestion: "APFLOW_DATABASE_URL" },
      { name: "APFLOW_DB", suggestion: "APFLOW_DATABASE_URL" },
      { name: "APFLOW_SOMETHING_ELSE_ENTIRELY", suggestion: null },
    ]);
    expect(describeUnknownSetting({ name: "APFLOW_DB", suggestion: "APFLOW_DATABASE_URL" })).toBe(
      "unknown setting APFLOW_DB (ignored); did you mean APFLOW_DATABASE_URL?",
    );
    expect(describeUnknownSetting({ name: "APFLOW_X", suggestion: null })).toBe("unknown setting APFLOW_X (ignored)");
  });

  it("knows extra names (a plugin's own), and case slips", () => {
    expect(findUnknownSettings({ APFLOW_MINE: "1" }, ["APFLOW_MINE"])).toEqual([]);
    expect(closestSetting("APFLOW_log_level")).toBe("APFLOW_LOG_LEVEL");
    expect(closestSetting("APFLOW_JWT_SECRT")).toBe("APFLOW_JWT_SECRET");
  });
});
