import { Registry } from "@aipartnerupflow/core";
import { afterEach, describe, expect, it } from "vitest";
import defaultExport, { commandExecutor, stdioPlugin, systemInfoExecutor } from "./index.js";
import { makeContext } from "./testing/context.js";

const ENV_KEYS = ["APFLOW_COMMAND_ENABLED", "APFLOW_COMMAND_ALLOW", "APFLOW_COMMAND_ALLOW_SHELL"] as const;
afterEach(() => {
  for (const k of ENV_KEYS) delete process.env[k];
});

describe("stdioPlugin", () => {
  it("is the default export too", () => {
    expect(defaultExport).toBe(stdioPlugin);
    expect(stdioPlugin.name).toBe("@aipartnerupflow/ext-stdio");
  });

  it("registers command and system_info with their JSON Schemas, tags and examples", async () => {
    const registry = new Registry();
    await registry.use(stdioPlugin, {});
    const meta = registry.listExecutors();
    const command = meta.find((m) => m.id === "command");
    const info = meta.find((m) => m.id === "system_info");
    expect(command?.cancelable).toBe(true);
    expect(command?.tags).toContain("stdio");
    expect(command?.inputSchema).toMatchObject({
      type: "object",
      required: ["command"],
      properties: { command: { type: "array", items: { type: "string" } }, shell: { type: "boolean", default: false } },
    });
    expect(command?.outputSchema).toMatchObject({ properties: { exitCode: {}, stdout: {}, truncated: {} } });
    expect(command?.examples.length).toBeGreaterThan(0);
    expect(info?.inputSchema).toMatchObject({
      properties: { resource: { enum: ["cpu", "memory", "disk", "os", "node", "all"] } },
    });
    expect(info?.tags).toContain("system");
  });

  it("refuses a second registration of the same ids unless override is set", async () => {
    const registry = new Registry();
    registry.registerExecutor(systemInfoExecutor);
    await expect(registry.use(stdioPlugin, {})).rejects.toThrow(/already registered/);
    const again = new Registry();
    again.registerExecutor(systemInfoExecutor);
    await again.use(stdioPlugin, { override: true });
    expect(again.hasExecutor("command")).toBe(true);
  });

  it("configures command from its options", async () => {
    const registry = new Registry();
    await registry.use(stdioPlugin, { command: { enabled: true, allow: ["echo"] } });
    const t = makeContext();
    const result = await registry.getExecutor("command")?.execute({ command: ["echo", "from options"] }, t.ctx);
    expect(result).toMatchObject({ exitCode: 0, stdout: "from options\n" });
  });

  it("falls back to APFLOW_COMMAND_* when the options are absent", async () => {
    const registry = new Registry();
    await registry.use(stdioPlugin, {});
    const execute = () =>
      Promise.resolve(registry.getExecutor("command")?.execute({ command: ["echo", "env"] }, makeContext().ctx));
    await expect(execute()).rejects.toMatchObject({ code: "COMMAND_DISABLED" });
    process.env.APFLOW_COMMAND_ENABLED = "1";
    await expect(execute()).rejects.toMatchObject({ code: "COMMAND_NOT_ALLOWED" });
    process.env.APFLOW_COMMAND_ALLOW = "ls,echo";
    await expect(execute()).resolves.toMatchObject({ stdout: "env\n" });
  });

  it("exports a command executor configured by the environment alone", async () => {
    await expect(
      Promise.resolve(commandExecutor.execute({ command: ["echo"] } as never, makeContext().ctx)),
    ).rejects.toMatchObject({
      code: "COMMAND_DISABLED",
    });
  });

  it("declares a command demo result that shows what would run", () => {
    const demo = commandExecutor.demoResult;
    if (typeof demo !== "function") throw new Error("demoResult should depend on the inputs");
    expect(demo({ command: ["git", "status"], shell: false, allowNonZeroExit: false })).toMatchObject({
      exitCode: 0,
      stdout: '[demo] would run: ["git","status"]\n',
    });
  });
});
