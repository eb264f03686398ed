import { readFile } from "node:fs/promises";
import { expect, it } from "vitest";

/** Run the first ```ts block of a README, with imports of this package pointed at its source. */
async function runReadmeExample(readmeUrl: URL): Promise<unknown[][]> {
  const readme = await readFile(readmeUrl, "utf8");
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
  return logs;
}

/** `import { a, b } from "x";` -> `const { a, b } = await __import("x");` */
function toDynamicImports(source: string): string {
  return source.replace(
    /import\s+\{([^}]+)\}\s+from\s+("[^"]+");/g,
    (_m, names: string, spec: string) => `const {${names}} = await __import(${spec});`,
  );
}

it("the package README example runs", async () => {
  const logs = await runReadmeExample(new URL("../README.md", import.meta.url));
  expect(logs[0]?.[0]).toBe("completed");
  expect(logs[0]?.[1]).toMatchObject({ count: 2, results: { a: { size: 1700 }, b: { size: 1700 } } });
});

it("the repository README's library example runs and prints what it says", async () => {
  const logs = await runReadmeExample(new URL("../../../README.md", import.meta.url));
  expect(logs[0]).toEqual(["completed", { results: { first: { words: 2 }, second: { words: 3 } }, count: 2 }]);
});
