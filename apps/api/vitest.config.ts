import { defineConfig } from "vitest/config";

/*
 * Every suite runs once, on the PostgreSQL server at 127.0.0.1:5432: each gets a copy of one
 * migrated template database (src/testing/global-setup.ts, src/testing/harness.ts).
 */
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    globalSetup: ["src/testing/global-setup.ts"],
    // Real HTTP, a sandbox and a database per suite: give slow machines room.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The machine has 2 cores shared with other work.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
