/*
 * Prisma allows one provider per schema, so SQLite and PostgreSQL each have their own schema and
 * migrations. These tests keep them one data model:
 * - the two schema files describe the same models, fields, types, optionality, keys, indexes and
 *   table/column names (native `@db.*` types aside);
 * - each provider's committed migrations build exactly the database its schema describes, so a
 *   schema change without its migration fails here rather than in production.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Sqlite from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const apiDir = path.resolve(import.meta.dirname, "../..");
const sqliteSchemaPath = path.join(apiDir, "prisma/sqlite/schema.prisma");
const postgresSchemaPath = path.join(apiDir, "prisma/postgres/schema.prisma");

// ---------------------------------------------------------------------------------------------
// A small reader for the parts of the Prisma schema language these schemas use.

interface FieldShape {
  type: string;
  optional: boolean;
  list: boolean;
  /** Normalised and sorted, without native types (`@db.*`). */
  attributes: string[];
}

interface ModelShape {
  fields: Record<string, FieldShape>;
  /** `@@index`, `@@unique`, `@@id`, `@@map`: normalised and sorted. */
  blockAttributes: string[];
}

interface SchemaShape {
  provider: string;
  generators: Record<string, Record<string, string>>;
  models: Record<string, ModelShape>;
  enums: Record<string, string[]>;
}

/** Removes `//` and `///` comments, leaving string literals alone. */
function stripComments(source: string): string {
  return source
    .split("\n")
    .map((line) => {
      let inString = false;
      for (let i = 0; i < line.length; i++) {
        const char = line[i];
        if (char === "\\" && inString) i++;
        else if (char === '"') inString = !inString;
        else if (!inString && char === "/" && line[i + 1] === "/") return line.slice(0, i);
      }
      return line;
    })
    .join("\n");
}

/** Drops whitespace outside string literals: `@relation(fields: [a], references: [b])` → one spelling. */
function normalise(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === "\\" && inString) {
      out += char + (text[i + 1] ?? "");
      i++;
    } else if (char === '"') {
      inString = !inString;
      out += char;
    } else if (inString || !/\s/.test(char)) {
      out += char;
    }
  }
  return out;
}

/** Splits `@id @default(uuid()) @map("x")` into its top-level attributes. */
function splitAttributes(text: string): string[] {
  const attributes: string[] = [];
  let depth = 0;
  let inString = false;
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (inString) {
      if (char === "\\") {
        current += char + (text[i + 1] ?? "");
        i++;
        continue;
      }
      if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === "(" || char === "[") depth++;
    else if (char === ")" || char === "]") depth--;
    else if (char === "@" && depth === 0 && text[i - 1] !== "@" && current.trim() !== "@") {
      if (current.trim()) attributes.push(normalise(current));
      current = "";
    }
    current += char;
  }
  if (current.trim()) attributes.push(normalise(current));
  if (depth !== 0 || inString) throw new Error(`unbalanced attribute list: ${text}`);
  return attributes;
}

function parseSettings(body: string): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const line of body.split("\n").map((l) => l.trim())) {
    if (!line) continue;
    const match = /^(\w+)\s*=\s*(.+)$/.exec(line);
    if (!match) throw new Error(`cannot read setting line: ${line}`);
    settings[match[1] as string] = normalise(match[2] as string);
  }
  return settings;
}

function parseModel(name: string, body: string): ModelShape {
  const model: ModelShape = { fields: {}, blockAttributes: [] };
  for (const line of body.split("\n").map((l) => l.trim())) {
    if (!line) continue;
    if (line.startsWith("@@")) {
      model.blockAttributes.push(...splitAttributes(line));
      continue;
    }
    const match = /^(\w+)\s+(\w+)(\[\])?(\?)?(?:\s+(.*))?$/.exec(line);
    if (!match) throw new Error(`cannot read a field of model ${name}: ${line}`);
    const [, fieldName, type, list, optional, rest] = match;
    model.fields[fieldName as string] = {
      type: type as string,
      list: Boolean(list),
      optional: Boolean(optional),
      attributes: splitAttributes(rest ?? "")
        .filter((attribute) => !attribute.startsWith("@db."))
        .sort(),
    };
  }
  model.blockAttributes.sort();
  return model;
}

export function parsePrismaSchema(source: string): SchemaShape {
  const schema: SchemaShape = { provider: "", generators: {}, models: {}, enums: {} };
  const text = stripComments(source);
  const blockPattern = /^\s*(model|enum|generator|datasource|view|type)\s+(\w+)\s*\{([^}]*)\}/gm;
  let consumed = "";
  for (const [whole, kind, name, body] of text.matchAll(blockPattern)) {
    consumed += whole;
    const blockName = name as string;
    if (kind === "model") schema.models[blockName] = parseModel(blockName, body as string);
    else if (kind === "enum") {
      schema.enums[blockName] = (body as string)
        .split("\n")
        .map((line) => normalise(line))
        .filter(Boolean);
    } else if (kind === "generator") schema.generators[blockName] = parseSettings(body as string);
    else if (kind === "datasource") {
      schema.provider = JSON.parse(parseSettings(body as string).provider ?? '""') as string;
    } else throw new Error(`unsupported block kind in schema: ${kind}`);
  }
  // Anything outside a recognised block would be silently ignored: refuse it instead.
  const leftover = text.replace(blockPattern, "").trim();
  if (leftover) throw new Error(`unparsed schema text: ${leftover.slice(0, 80)}`);
  if (!consumed) throw new Error("no blocks found in schema");
  return schema;
}

/** What must be equal between providers: everything but the provider. */
function dataModelOf(schema: SchemaShape) {
  return { generators: schema.generators, models: schema.models, enums: schema.enums };
}

const sqliteSource = readFileSync(sqliteSchemaPath, "utf8");
const postgresSource = readFileSync(postgresSchemaPath, "utf8");

describe("the SQLite and PostgreSQL Prisma schemas", () => {
  const sqlite = parsePrismaSchema(sqliteSource);
  const postgres = parsePrismaSchema(postgresSource);

  it("use their own provider", () => {
    expect(sqlite.provider).toBe("sqlite");
    expect(postgres.provider).toBe("postgresql");
  });

  it("describe the same models, fields, keys, indexes and names", () => {
    expect(dataModelOf(postgres)).toEqual(dataModelOf(sqlite));
  });

  it("are read in full, attribute by attribute", () => {
    // Guards the reader itself: an empty or half-read parse would make the comparison vacuous.
    expect(Object.keys(sqlite.models).length).toBeGreaterThanOrEqual(5);
    const user = sqlite.models.User;
    expect(user?.blockAttributes).toContain('@@map("users")');
    expect(user?.fields.phone).toEqual({
      type: "String",
      list: false,
      optional: true,
      attributes: ["@unique"],
    });
    expect(user?.fields.createdAt?.attributes).toEqual(["@default(now())", '@map("created_at")']);
    const postgresUser = postgres.models.User;
    expect(postgresUser?.fields.createdAt?.attributes).toEqual([
      "@default(now())",
      '@map("created_at")',
    ]);
    for (const [modelName, model] of Object.entries(sqlite.models)) {
      expect(Object.keys(model.fields).length, modelName).toBeGreaterThan(1);
      expect(
        model.blockAttributes.some((attribute) => attribute.startsWith("@@map(")),
        `${modelName} has a snake_case table name`,
      ).toBe(true);
    }
  });

  it.each([
    ["a dropped @unique", (s: string) => s.replace(/(phone\s+String\?\s+)@unique/, "$1")],
    ["a field made required", (s: string) => s.replace(/(nickname\s+)String\?/, "$1String ")],
    ["a changed type", (s: string) => s.replace(/(obtainedAt\s+)DateTime/, "$1String  ")],
    ["a renamed column", (s: string) => s.replace('@map("avatar_url")', '@map("avatar")')],
    ["a dropped @@index", (s: string) => s.replace(/@@index\(\[userId\]\)/, "")],
    ["an extra model", (s: string) => `${s}\nmodel Extra {\n  id String @id\n}\n`],
    ["an extra field", (s: string) => s.replace(/(model User \{\n)/, "$1  extra String?\n")],
    ["a changed relation", (s: string) => s.replace("onDelete: Cascade", "onDelete: Restrict")],
  ])("would notice %s", (_label, mutate) => {
    const mutated = mutate(sqliteSource);
    expect(mutated).not.toBe(sqliteSource);
    expect(dataModelOf(parsePrismaSchema(mutated))).not.toEqual(dataModelOf(postgres));
  });
});

// ---------------------------------------------------------------------------------------------
// Committed migrations versus schema, per provider: migrate the committed migrations into one
// database, apply `migrate diff --from-empty --to-schema-datamodel <schema>` to another, and
// compare what the database holds.

const run = promisify(execFile);
const prismaBin = path.join(apiDir, "node_modules/.bin/prisma");

async function prisma(args: string[], databaseUrl: string): Promise<string> {
  const { stdout } = await run(prismaBin, args, {
    cwd: apiDir,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

const POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres";

async function requirePostgres(): Promise<void> {
  const client = new pg.Client({
    connectionString: POSTGRES_ADMIN_URL,
    connectionTimeoutMillis: 2000,
  });
  try {
    await client.connect();
    await client.query("SELECT 1");
  } catch (error) {
    throw new Error(
      `PostgreSQL is required at 127.0.0.1:5432 (user postgres, trust auth) for the schema tests: ${
        (error as Error).message
      }`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

async function describePostgres(databaseUrl: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const rows = async (sql: string) => (await client.query(sql)).rows;
    return {
      columns: await rows(`
        SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default,
               character_maximum_length, numeric_precision, datetime_precision
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'
        ORDER BY table_name, column_name`),
      indexes: await rows(`
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
        ORDER BY tablename, indexname`),
      constraints: await rows(`
        SELECT conrelid::regclass::text AS table_name, conname, pg_get_constraintdef(oid) AS definition
        FROM pg_constraint
        WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '_prisma_migrations'
        ORDER BY 1, 2`),
      enums: await rows(`
        SELECT t.typname, e.enumlabel FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
        ORDER BY t.typname, e.enumsortorder`),
    };
  } finally {
    await client.end();
  }
}

function describeSqlite(file: string) {
  const connection = new Sqlite(file, { fileMustExist: true });
  const rows = (sql: string) => connection.prepare(sql).all() as Array<Record<string, unknown>>;
  try {
    const tables = rows(
      `SELECT name FROM sqlite_master WHERE type = 'table'
       AND name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations' ORDER BY name`,
    );
    const shape = [];
    for (const { name } of tables) {
      const indexes: Array<Record<string, unknown>> = [];
      for (const index of rows(`PRAGMA index_list("${name}")`)) {
        indexes.push({ ...index, columns: rows(`PRAGMA index_info("${index.name}")`) });
      }
      indexes.sort((a, b) => String(a.name).localeCompare(String(b.name)));
      shape.push({
        name,
        columns: rows(`PRAGMA table_info("${name}")`),
        foreignKeys: rows(`PRAGMA foreign_key_list("${name}")`),
        indexes,
      });
    }
    return shape;
  } finally {
    connection.close();
  }
}

/** Each migration is a folder holding migration.sql; migration_lock.toml sits beside them. */
function migrationNames(provider: "sqlite" | "postgres"): string[] {
  return readdirSync(path.join(apiDir, "prisma", provider, "migrations"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

describe("the committed PostgreSQL migrations", () => {
  const databaseNames: string[] = [];
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });

  beforeAll(async () => {
    await requirePostgres();
    await admin.connect();
  });

  afterAll(async () => {
    for (const name of databaseNames)
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  });

  async function freshDatabase(label: string): Promise<string> {
    const name = `wxauth_schema_test_${label}_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
    await admin.query(`CREATE DATABASE "${name}"`);
    databaseNames.push(name);
    return `postgresql://postgres@127.0.0.1:5432/${name}`;
  }

  it("apply with `prisma migrate deploy` and build exactly what the schema describes", async () => {
    const [migratedUrl, expectedUrl] = await Promise.all([
      freshDatabase("migrated"),
      freshDatabase("expected"),
    ]);
    // Through apps/api/prisma.config.ts, as the API applies them at start.
    const [, expectedSql] = await Promise.all([
      prisma(["migrate", "deploy"], migratedUrl),
      prisma(
        [
          "migrate",
          "diff",
          "--from-empty",
          "--to-schema-datamodel",
          postgresSchemaPath,
          "--script",
        ],
        expectedUrl,
      ),
    ]);
    const expected = new pg.Client({ connectionString: expectedUrl });
    await expected.connect();
    await expected.query(expectedSql).finally(() => expected.end());

    const migrated = new pg.Client({ connectionString: migratedUrl });
    await migrated.connect();
    const applied = await migrated
      .query(
        "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY 1",
      )
      .finally(() => migrated.end());
    expect(applied.rows.map((row) => row.migration_name)).toEqual(migrationNames("postgres"));

    const [actualShape, expectedShape] = await Promise.all([
      describePostgres(migratedUrl),
      describePostgres(expectedUrl),
    ]);
    expect(actualShape.columns.length).toBeGreaterThan(0);
    expect(actualShape).toEqual(expectedShape);
  }, 120_000);

  it("declare the PostgreSQL provider in migration_lock.toml", () => {
    const lock = readFileSync(
      path.join(apiDir, "prisma/postgres/migrations/migration_lock.toml"),
      "utf8",
    );
    expect(lock).toMatch(/^provider = "postgresql"$/m);
  });
});

describe("the committed SQLite migrations", () => {
  let tempDir: string;

  beforeAll(() => {
    tempDir = mkdtempSync(path.join(os.tmpdir(), "wxauth-schema-test-"));
  });

  afterAll(() => {
    rmSync(tempDir, { recursive: true, force: true });
  });

  it("apply with `prisma migrate deploy` and build exactly what the schema describes", async () => {
    const migratedFile = path.join(tempDir, "migrated.db");
    const expectedFile = path.join(tempDir, "expected.db");
    const [, expectedSql] = await Promise.all([
      prisma(["migrate", "deploy"], `file:${migratedFile}`),
      prisma(
        ["migrate", "diff", "--from-empty", "--to-schema-datamodel", sqliteSchemaPath, "--script"],
        `file:${expectedFile}`,
      ),
    ]);
    const expected = new Sqlite(expectedFile);
    try {
      expected.exec(expectedSql);
    } finally {
      expected.close();
    }

    const migrated = new Sqlite(migratedFile, { readonly: true });
    let applied: unknown[];
    try {
      applied = migrated
        .prepare(
          "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY 1",
        )
        .pluck()
        .all();
    } finally {
      migrated.close();
    }
    expect(applied).toEqual(migrationNames("sqlite"));

    const actualShape = describeSqlite(migratedFile);
    expect(actualShape.length).toBeGreaterThan(0);
    expect(actualShape).toEqual(describeSqlite(expectedFile));
  }, 120_000);
});
