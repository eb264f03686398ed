import { writeFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { ExecutorContext } from "./types.js";
import { defaultRegistry, DuplicateRegistrationError, Registry } from "./registry.js";
import { defineExecutor, definePlugin, executor, loadPlugin } from "./define.js";

describe("Registry", () => {
  it("refuses duplicate ids unless override is set", () => {
    const r = new Registry();
    const def = defineExecutor({ id: "x", execute: () => 1 });
    r.registerExecutor(def);
    expect(() => r.registerExecutor(def)).toThrow(DuplicateRegistrationError);
    r.registerExecutor({ ...def, description: "second" }, { override: true });
    expect(r.getExecutor("x")?.description).toBe("second");
  });

  it("exports zod and JSON Schema inputs as JSON Schema metadata", () => {
    const r = new Registry();
    r.registerExecutor({
      id: "zod",
      name: "Zod one",
      tags: ["t"],
      inputSchema: z.object({ url: z.string().describe("where") }),
      examples: [{ inputs: { url: "x" } }],
      execute: () => null,
    });
    r.registerExecutor({
      id: "json",
      inputSchema: { type: "object", properties: { n: { type: "integer", minimum: 1 } }, required: ["n"] },
      execute: () => null,
    });
    const [zodMeta, jsonMeta] = r.listExecutors();
    expect(zodMeta).toMatchObject({
      id: "zod",
      name: "Zod one",
      tags: ["t"],
      inputSchema: { type: "object", properties: { url: { type: "string", description: "where" } }, required: ["url"] },
      examples: [{ inputs: { url: "x" } }],
    });
    expect(jsonMeta?.inputSchema).toMatchObject({ properties: { n: { type: "integer" } } });
    // The JSON Schema is compiled for validation too.
    const schema = r.getExecutor("json")?.inputSchema as z.ZodType;
    expect(schema.safeParse({ n: 0 }).success).toBe(false);
    expect(schema.safeParse({ n: 2 }).success).toBe(true);
  });

  it("an allow-list hides and blocks other executors", () => {
    const r = new Registry({ allowedExecutors: ["a"] });
    r.registerExecutor({ id: "a", execute: () => 1 });
    r.registerExecutor({ id: "b", execute: () => 1 });
    expect(r.listExecutors().map((e) => e.id)).toEqual(["a"]);
    expect(r.isAllowed("b")).toBe(false);
    r.setAllowedExecutors(null);
    expect(r.isAllowed("b")).toBe(true);
  });

  it("hooks are scoped to executors and can be removed", () => {
    const r = new Registry();
    const off = r.addHook("beforeExecute", () => undefined, { executors: ["a"] });
    expect(r.getHooks("beforeExecute", "a")).toHaveLength(1);
    expect(r.getHooks("beforeExecute", "b")).toHaveLength(0);
    off();
    expect(r.getHooks("beforeExecute", "a")).toHaveLength(0);
  });

  it("the @executor class decorator (compiled by TypeScript) produces the same registry entry", async () => {
    // vitest's transformer does not lower standard decorators, so compile the way users do: tsc.
    const ts = await import("typescript");
    const source = `
      const { executor, registry } = globalThis.__apflowDecoratorTest;
      @executor({ id: "classy", description: "from a class", registry })
      class Classy {
        factor = 2;
        execute(inputs: { n: number }) { return { twice: inputs.n * this.factor }; }
      }
      export default Classy;
    `;
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    });
    const r = new Registry();
    (globalThis as Record<string, unknown>).__apflowDecoratorTest = { executor, registry: r };
    const mod = (await import(`data:text/javascript,${encodeURIComponent(outputText)}`)) as { default: unknown };
    expect(mod.default).toBeTypeOf("function");
    const entry = r.getExecutor("classy");
    expect(entry?.description).toBe("from a class");
    expect(await entry?.execute({ n: 4 }, {} as ExecutorContext)).toEqual({ twice: 8 });
    expect(defaultRegistry.hasExecutor("classy")).toBe(false);
  });

  it("plugins register once; loadPlugin imports by specifier and explains failures", async () => {
    const r = new Registry();
    let setups = 0;
    const plugin = definePlugin({
      name: "p",
      setup: (reg) => {
        setups++;
        reg.registerTool({ id: "t", description: "d", inputSchema: z.object({}), execute: () => 1 });
      },
    });
    await r.use(plugin);
    await r.use(plugin);
    expect(setups).toBe(1);
    expect(r.getTool("t")?.description).toBe("d");

    const dir = await mkdtemp(join(tmpdir(), "apflow-plugin-"));
    const file = join(dir, "plugin.mjs");
    await writeFile(
      file,
      `export default { name: "file-plugin", version: "1.0.0", setup(r, o) { r.registerExecutor({ id: "from-file", description: String(o.greeting), execute: () => 1 }); } };`,
    );
    await loadPlugin(r, pathToFileURL(file).href, { greeting: "hi" });
    expect(r.getExecutor("from-file")?.description).toBe("hi");
    expect(r.listPlugins()).toContainEqual({ name: "file-plugin", version: "1.0.0" });
    await expect(loadPlugin(r, "@aipartnerupflow/no-such-plugin")).rejects.toMatchObject({ code: -32602 });
    const notPlugin = join(dir, "not.mjs");
    await writeFile(notPlugin, "export const x = 1;");
    await expect(loadPlugin(r, pathToFileURL(notPlugin).href)).rejects.toThrow(/does not export a plugin/);
  });
});
