import type { TestProject } from "vitest/node";
import { applyMigrations } from "../db/migrate.js";
import {
  createTestDatabase,
  dropTestDatabasesStartingWith,
  requirePostgres,
  uniqueTestDatabaseName,
} from "./postgres.js";

/** The database the harness gives each suite. */
export interface TestDatabase {
  /** A migrated database; suites copy it under names starting with `template`. */
  template: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    testDatabase: TestDatabase;
  }
}

/** Migrates one template database per test run: copying it is far cheaper than migrating. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Fail the whole run at once, with the reason, instead of every suite on its own.
  await requirePostgres();
  const template = uniqueTestDatabaseName();
  await applyMigrations(await createTestDatabase(template));
  project.provide("testDatabase", { template });

  // The template, and any copy a suite failed to drop.
  return () => dropTestDatabasesStartingWith(template);
}
