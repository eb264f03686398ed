// Bundles the browser app (src/ui) into dist/ui: app.js (+ app.css it imports), layout-worker.js, index.html.
// Everything the page needs ships in the package; nothing is fetched at run time.
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = dirname(fileURLToPath(import.meta.url));

export async function buildUi({ outdir = join(root, "dist", "ui"), minify = true } = {}) {
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: {
      app: join(root, "src/ui/main.tsx"),
      "layout-worker": join(root, "src/ui/layout-worker.ts"),
    },
    outdir,
    bundle: true,
    format: "esm",
    target: ["chrome115", "firefox115", "safari16"],
    jsx: "automatic",
    jsxImportSource: "preact",
    minify,
    sourcemap: false,
    legalComments: "linked",
    logLevel: "warning",
    entryNames: "[name]",
  });
  await copyFile(join(root, "src/ui/index.html"), join(outdir, "index.html"));
  await copyFile(join(root, "src/ui/icon.svg"), join(outdir, "icon.svg"));
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildUi();
}
