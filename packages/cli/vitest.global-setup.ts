import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The tests spawn the built CLI: build it once first so they never run a stale dist/. */
export default function setup(): void {
  const cwd = fileURLToPath(new URL(".", import.meta.url));
  execFileSync("pnpm", ["run", "build"], { cwd, stdio: "pipe" });
}
