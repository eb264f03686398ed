import { readFile } from "node:fs/promises";
import { expect, it } from "vitest";

// Runs the README's first example as written (imports rewritten to this package's source).
it("the README example runs", async () => {
  const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  const logs: unknown[][] = [];
  const source = (code as string)
    .replace('from "@aipartnerupflow/core"', `from ${JSON.stringify(new URL("./index.ts", import.meta.url).href)}`)
    .replaceAll("console.log(", "__log(");
  const run = new Function("__log", "__import", `return (async () => { ${toDynamicImports(source)} })();`);
  await run(
    (...args: unknown[]) => logs.push(args),
    (spec: string) => import(/* @vite-ignore */ spec),
  );
  expect(logs[0]?.[0]).toBe("completed");
  expect(logs[0]?.[1]).toMatchObject({ count: 2, results: { a: { size: 1700 }, b: { size: 1700 } } });
});

/** `import { a, b } from "x";` -> `const { a, b } = await __import("x");` */
function toDynamicImports(source: string): string {
  return source.replace(/import\s+\{([^}]+)\}\s+from\s+("[^"]+");/g, (_m, names: string, spec: string) => {
    return `const {${names}} = await __import(${spec});`;
  });
}
