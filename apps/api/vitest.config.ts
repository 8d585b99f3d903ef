import { defineConfig } from "vitest/config";

/*
 * The suite runs twice, once per database: project `sqlite` gives each suite a SQLite file, project
 * `postgres` a PostgreSQL database (see src/testing/harness.ts). `vitest run --project sqlite` runs one.
 */

/** Suites about SQLite itself (its file, its lock, its single connection): SQLite only. */
const SQLITE_ONLY = [
  "src/resilience/database-faults.test.ts",
  // Run the built API on a SQLite file of their own, whatever the project.
  "src/resilience/sigterm-drain.test.ts",
  "src/metrics/metrics-port.test.ts",
];

/**
 * Suites that touch no database through the harness, or that run on PostgreSQL (and Redis) of their
 * own accord: once is enough, in the PostgreSQL project.
 */
const ONCE = [
  "src/config.test.ts",
  "src/http/server.test.ts",
  "src/http/error-handler.test.ts",
  "src/db/time-ordered-id.test.ts",
  "src/auth/at-rest-cipher.test.ts",
  "src/db/schemas.test.ts",
  "src/db/postgres-refused.test.ts",
  "src/stores/**",
  "src/sms/**",
  "src/scale-out/**",
  "src/health/readiness.test.ts",
  "src/testing/**",
];

export default defineConfig({
  test: {
    globalSetup: ["src/testing/global-setup.ts"],
    // Real HTTP, a sandbox and a database per suite: give slow machines room.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The machine has 2 cores shared with other work.
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        extends: true,
        test: { name: "sqlite", include: ["src/**/*.test.ts"], exclude: ONCE },
      },
      {
        extends: true,
        test: { name: "postgres", include: ["src/**/*.test.ts"], exclude: SQLITE_ONLY },
      },
    ],
  },
});
