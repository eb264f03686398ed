// The browser tests serve what `pnpm build` ships; build it first so a test never sees stale assets.
// @ts-expect-error plain ESM build script without types
import { buildUi } from "../build-ui.mjs";

export default async function setup(): Promise<void> {
  await buildUi();
}
