import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { applyMigrations } from "../db/migrate.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A migrated SQLite file; each suite copies it instead of migrating its own. */
    templateDatabase: string;
  }
}

/** Migrates one template database per test run: copying it is far cheaper than migrating. */
export default async function setup(project: TestProject): Promise<() => void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wxauth-api-template-"));
  const templateDatabase = path.join(dir, "template.db");
  await applyMigrations(`file:${templateDatabase}`);
  project.provide("templateDatabase", templateDatabase);
  return () => rmSync(dir, { recursive: true, force: true });
}
