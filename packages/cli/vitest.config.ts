import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    globalSetup: ["./vitest.global-setup.ts"],
    // Each test spawns the CLI (a Node process opening SQLite): give slow machines room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
