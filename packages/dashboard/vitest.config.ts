import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    globalSetup: ["./test-support/build-assets.ts"],
    // Tests start a real server and a real browser on a noisy machine: generous ceilings, never timed assertions.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The browser tests are heavy; one file at a time keeps the shared CPUs usable.
    fileParallelism: false,
  },
});
