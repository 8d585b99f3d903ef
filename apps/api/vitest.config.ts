import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    globalSetup: ["src/test/global-setup.ts"],
    // Real HTTP, a sandbox and a SQLite file per suite: give slow machines room.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The machine has 2 cores shared with other work.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
