import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { ErrorCode } from "../errors.js";
import { MemoryStore } from "../store/memory-store.js";
import { loadPlugin } from "./define.js";
import { Registry } from "./registry.js";
import { storeScheme } from "./stores.js";

describe("stores contributed through the registry", () => {
  it("the scheme of a URL: scheme:// names it; file: URLs and plain paths are file", () => {
    expect(storeScheme("postgres://u@h/db")).toBe("postgres");
    expect(storeScheme("MyStore://bucket/x")).toBe("mystore");
    expect(storeScheme("file:./a.db")).toBe("file");
    expect(storeScheme("./.apflow/apflow.db")).toBe("file");
    expect(storeScheme("/abs/a.db")).toBe("file");
    expect(storeScheme("C:\\data\\a.db")).toBe("file");
  });

  it("a plugin loaded by specifier registers mystore://, and openStore picks its factory by scheme", async () => {
    // A plugin as a user writes one: its own module, registering a store for its URL scheme.
    const dir = await mkdtemp(join(tmpdir(), "apflow-store-plugin-"));
    const core = pathToFileURL(join(import.meta.dirname, "..", "index.ts")).href;
    const file = join(dir, "plugin.mjs");
    await writeFile(
      file,
      `import { MemoryStore } from ${JSON.stringify(core)};
export const opened = [];
export default {
  name: "mystore-plugin",
  setup(registry) {
    registry.registerStore({ id: "mystore", schemes: ["mystore"], create: (o) => { opened.push(o); return new MemoryStore(); } });
  },
};`,
    );
    const registry = new Registry();
    registry.registerStore({ id: "builtin", schemes: ["file", "postgres"], create: () => new MemoryStore() });
    await loadPlugin(registry, pathToFileURL(file).href);
    const mod = (await import(pathToFileURL(file).href)) as { opened: unknown[] };

    const store = await registry.openStore("mystore://bucket/tasks", { migrate: false });
    expect(store).toBeInstanceOf(MemoryStore);
    expect(mod.opened).toEqual([{ migrate: false, url: "mystore://bucket/tasks" }]);
    expect(registry.findStoreFor("mystore://x")?.id).toBe("mystore");
    expect(registry.findStoreFor("./a.db")?.id).toBe("builtin");
    await store.close();
  });

  it("an unknown scheme is refused naming the registered ones; a factory returning no store is an error", async () => {
    const registry = new Registry();
    registry.registerStore({
      id: "builtin",
      schemes: ["file", "postgres", "postgresql"],
      create: () => new MemoryStore(),
    });
    await expect(registry.openStore("nostore://x")).rejects.toMatchObject({
      code: ErrorCode.InvalidParams,
      message: expect.stringContaining(
        'no store opens "nostore:" URLs (registered schemes: file:, postgres:, postgresql:)',
      ),
      data: { scheme: "nostore", schemes: ["file", "postgres", "postgresql"] },
    });
    registry.registerStore({ id: "broken", schemes: ["broken"], create: () => ({}) as never });
    await expect(registry.openStore("broken://x")).rejects.toThrow(
      /store factory "broken" returned something that is not a task store/,
    );
  });

  it("a later factory wins a scheme (a plugin may replace the built-in); bad factories are refused", async () => {
    const registry = new Registry();
    const builtin = new MemoryStore();
    const replacement = new MemoryStore();
    registry.registerStore({ id: "builtin", schemes: ["file", "postgres"], create: () => builtin });
    registry.registerStore({ id: "pg-plugin", schemes: ["postgres"], create: () => replacement });
    expect(await registry.openStore("postgres://h/db")).toBe(replacement);
    expect(await registry.openStore("./a.db")).toBe(builtin);
    expect(() => registry.registerStore({ id: "builtin", schemes: ["file"], create: () => builtin })).toThrow(
      /already registered/,
    );
    expect(() => registry.registerStore({ id: "x", schemes: ["x://"], create: () => builtin })).toThrow(
      /"x:\/\/" is not a URL scheme/,
    );
    expect(() => registry.registerStore({ id: "y", schemes: [], create: () => builtin })).toThrow(
      /names no URL scheme/,
    );
  });
});
