import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    // Tests start real processes on a noisy machine: generous ceilings, never timed assertions.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // expect.poll waits for real processes and sockets: a loaded CI machine needs more than 1 s.
    expect: { poll: { timeout: 20_000, interval: 50 } },
  },
});
