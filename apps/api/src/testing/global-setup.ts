import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { applyMigrations } from "../db/migrate.js";
import {
  createTestDatabase,
  dropTestDatabasesStartingWith,
  requirePostgres,
  uniqueTestDatabaseName,
} from "./postgres.js";

/** The database the harness gives each suite: the vitest project (sqlite or postgres) decides. */
export type TestDatabase =
  | { kind: "sqlite" }
  /** `template` is a migrated database; suites copy it under names starting with `template`. */
  | { kind: "postgres"; template: string };

declare module "vitest" {
  export interface ProvidedContext {
    /** A migrated SQLite file; each suite copies it instead of migrating its own. */
    templateDatabase: string;
    testDatabase: TestDatabase;
  }
}

/**
 * Migrates one template database per test run and project: copying it is far cheaper than
 * migrating. The SQLite template exists in both projects, for suites that run a SQLite file of
 * their own (a built API process, say).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const postgres = project.name === "postgres";
  // Fail the whole PostgreSQL run at once, with the reason, instead of every suite on its own.
  if (postgres) await requirePostgres();

  const dir = mkdtempSync(path.join(os.tmpdir(), "wxauth-api-template-"));
  const templateDatabase = path.join(dir, "template.db");
  const template = postgres ? uniqueTestDatabaseName() : undefined;
  await Promise.all([
    applyMigrations(`file:${templateDatabase}`),
    template ? createTestDatabase(template).then(applyMigrations) : undefined,
  ]);
  project.provide("templateDatabase", templateDatabase);
  project.provide("testDatabase", template ? { kind: "postgres", template } : { kind: "sqlite" });

  return async () => {
    rmSync(dir, { recursive: true, force: true });
    // The template, and any copy a suite failed to drop.
    if (template) await dropTestDatabasesStartingWith(template);
  };
}
