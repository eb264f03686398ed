import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    // Generates the Prisma clients when they are missing (a fresh clone tested without turbo).
    globalSetup: ["./scripts/vitest-generate.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
