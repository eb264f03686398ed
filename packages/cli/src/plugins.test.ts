import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EXAMPLES, STACK_LINE, parseJson, runCli, tempDir } from "./test-util/cli.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

/** A plugin as a third party writes it: a command and an executor, no imports needed. */
const PLUGIN = `
export default {
  name: "greeter",
  version: "1.0.0",
  setup(registry, options) {
    registry.registerExecutor({ id: "greet", description: "says hello", execute: (inputs) => ({ text: "hello " + inputs.who }) });
    registry.registerCommand({
      name: "greet",
      description: "print a greeting",
      configure(command, { registry }) {
        command.argument("<who>").option("--shout").action((who, opts) => {
          const text = (options.prefix ?? "hello") + " " + who + " (" + registry.listExecutors().length + " executors)";
          console.log(opts.shout ? text.toUpperCase() : text);
        });
      },
    });
  },
};
`;

describe("plugins", () => {
  it("loads a plugin from APFLOW_PLUGINS: its command appears in --help and runs; its executor runs", async () => {
    writeFileSync(join(dir, "greeter.mjs"), PLUGIN);
    const env = { APFLOW_PLUGINS: "./greeter.mjs" };
    const help = await runCli(["--help"], { cwd: dir, env });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}greet \[options\] <who> +print a greeting$/m);

    const greet = await runCli(["greet", "world", "--shout"], { cwd: dir, env });
    expect(greet.code).toBe(0);
    expect(greet.stdout.trim()).toMatch(/^HELLO WORLD \(\d+ EXECUTORS\)$/);

    const executors = parseJson<Array<{ id: string }>>(
      await runCli(["executors", "list", "--json"], { cwd: dir, env }),
    );
    expect(executors.map((e) => e.id)).toContain("greet");
    const tree = JSON.stringify([{ name: "hi", params: { executorId: "greet" }, inputs: { who: "tree" } }]);
    const run = parseJson<{ trees: Array<{ tasks: Array<{ result: unknown }> }> }>(
      await runCli(["run", "-", "--json"], { cwd: dir, env, input: tree }),
    );
    expect(run.trees[0]?.tasks[0]?.result).toEqual({ text: "hello tree" });
  });

  it("loads plugins listed in apflow.config.json, with options, relative to the file", async () => {
    mkdirSync(join(dir, "conf", "plugins"), { recursive: true });
    writeFileSync(join(dir, "conf", "plugins", "greeter.mjs"), PLUGIN);
    writeFileSync(
      join(dir, "conf", "apflow.config.json"),
      JSON.stringify({ plugins: [{ name: "./plugins/greeter.mjs", options: { prefix: "hi" } }] }),
    );
    const r = await runCli(["greet", "you"], { cwd: dir, env: { APFLOW_CONFIG: "conf/apflow.config.json" } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^hi you/);
    const config = parseJson<{ plugins: Array<{ name: string; source: string }>; pluginCommands: string[] }>(
      await runCli(["config", "show", "--json"], { cwd: dir, env: { APFLOW_CONFIG: "conf/apflow.config.json" } }),
    );
    expect(config.plugins.map((p) => [p.name, p.source])).toEqual([
      ["@aipartnerupflow/ext-stdio", "builtin"],
      ["@aipartnerupflow/ext-llm-agents", "builtin"],
      ["@aipartnerupflow/ext-remote", "builtin"],
      ["greeter", "config"],
    ]);
    expect(config.pluginCommands).toEqual(["greet"]);
  });

  it("a plugin that cannot load, or a broken config file, is a usage error (exit 2) naming it", async () => {
    const missing = await runCli(["tasks", "list"], { cwd: dir, env: { APFLOW_PLUGINS: "@nobody/no-such-plugin" } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/plugin @nobody\/no-such-plugin \(from APFLOW_PLUGINS\) could not be loaded/);
    expect(missing.stderr).not.toMatch(STACK_LINE);

    writeFileSync(join(dir, "not-a-plugin.mjs"), "export const x = 1;");
    const wrong = await runCli(["tasks", "list"], { cwd: dir, env: { APFLOW_PLUGINS: "./not-a-plugin.mjs" } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("does not export a plugin");

    writeFileSync(join(dir, "apflow.config.json"), JSON.stringify({ concurrency: "many" }));
    const badConfig = await runCli(["tasks", "list"], { cwd: dir });
    expect(badConfig.code).toBe(2);
    expect(badConfig.stderr).toMatch(/apflow\.config\.json is invalid:\n {2}concurrency: /);
  });

  it("a plugin command may not replace a built-in command", async () => {
    writeFileSync(
      join(dir, "clash.mjs"),
      PLUGIN.replace('name: "greet",\n      description', 'name: "run",\n      description'),
    );
    const r = await runCli(["--help"], { cwd: dir, env: { APFLOW_PLUGINS: "./clash.mjs" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('a plugin command is named "run"');
  });

  it("a plugin's store: --db mystore://… opens the store it registered for that scheme", async () => {
    const core = import.meta.resolve("@aipartnerupflow/core");
    writeFileSync(
      join(dir, "mystore.mjs"),
      `import { MemoryStore } from ${JSON.stringify(core)};
export default {
  name: "mystore",
  setup(registry) {
    registry.registerStore({ id: "mystore", schemes: ["mystore"], create: ({ url }) => {
      process.stderr.write("opened " + url + "\\n");
      return new MemoryStore();
    } });
  },
};`,
    );
    const env = { APFLOW_PLUGINS: "./mystore.mjs" };
    const run = await runCli(["run", join(EXAMPLES, "hello-world.json"), "--json", "--db", "mystore://bucket/a"], {
      cwd: dir,
      env,
    });
    expect(run.stderr).toBe("opened mystore://bucket/a\n");
    expect(run.code).toBe(0);
    expect(parseJson<{ status: string }>(run).status).toBe("completed");
    expect(existsSync(join(dir, ".apflow"))).toBe(false);

    const shown = parseJson<{ database: string }>(
      await runCli(["config", "show", "--json", "--db", "mystore://bucket/a"], { cwd: dir, env }),
    );
    expect(shown.database).toBe("mystore mystore://bucket/a");

    const migrate = await runCli(["db", "migrate", "--db", "mystore://bucket/a"], { cwd: dir, env });
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toContain('is opened by the store "mystore" from a plugin, which manages its own schema');

    // Without the plugin, nothing opens that scheme: a usage error naming the schemes there are.
    const unknown = await runCli(["tasks", "list", "--db", "mystore://bucket/a"], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(
      'no store opens "mystore:" URLs (registered schemes: file:, postgres:, postgresql:)',
    );
    expect(unknown.stderr).not.toMatch(STACK_LINE);
  });
});
