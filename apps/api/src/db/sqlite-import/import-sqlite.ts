import Sqlite from "better-sqlite3";
import { z } from "zod";
import type { Database } from "../client.js";
import type { DB } from "../types.js";

/*
 * Moves the data of a SQLite database of the API's earlier versions (the last of which ran SQLite
 * or PostgreSQL) into a migrated, empty PostgreSQL database, in one transaction: all of it, or
 * nothing. Its run: `pnpm --filter @wxauth/api db:import-sqlite <file.db>` (./main.ts).
 *
 * The SQLite file must be at that version's last migration (20261211090000_sessions_and_deletion):
 * the version that wrote it migrated it at every start. Its refresh_token_families become
 * sessions, and refresh_tokens.family_id becomes session_id.
 */

/**
 * A date as that version's SQLite held it: ISO 8601 text with an offset (what the API bound), text
 * without one in UTC (SQLite's CURRENT_TIMESTAMP), or milliseconds since the epoch.
 */
const sqliteDate = z.union([z.string(), z.number()]).transform((value, context) => {
  const date =
    typeof value === "number"
      ? new Date(value)
      : new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value.replace(" ", "T")}Z`);
  if (Number.isNaN(date.getTime())) {
    context.addIssue({ code: "custom", message: `not a date: ${value}` });
    return z.NEVER;
  }
  return date;
});
const text = z.string();
const optionalText = z.string().nullable();
const optionalDate = sqliteDate.nullable();

/** Each SQLite table's rows as PostgreSQL takes them, read by column name and checked. */
const USERS = z.object({
  id: text,
  phone: optionalText,
  openid: optionalText,
  unionid: optionalText,
  nickname: optionalText,
  avatar_url: optionalText,
  created_at: sqliteDate,
  updated_at: sqliteDate,
  deletion_scheduled_at: optionalDate,
});
const WECHAT_SESSION_KEYS = z.object({
  id: text,
  openid: text,
  unionid: optionalText,
  session_key_ciphertext: text,
  obtained_at: sqliteDate,
  created_at: sqliteDate,
  updated_at: sqliteDate,
});
const REGISTRATION_TICKETS = z.object({
  id: text,
  token_hash: text,
  openid: text,
  unionid: optionalText,
  wechat_session_key_id: text,
  expires_at: sqliteDate,
  claimed_until: optionalDate,
  used_at: optionalDate,
  created_at: sqliteDate,
  updated_at: sqliteDate,
});
/** refresh_token_families, the sessions of that version. */
const SESSIONS = z.object({
  id: text,
  user_id: text,
  device_platform: optionalText,
  device_model: optionalText,
  device_system: optionalText,
  last_used_at: sqliteDate,
  revoked_at: optionalDate,
  revoked_reason: optionalText,
  created_at: sqliteDate,
  updated_at: sqliteDate,
});
const REFRESH_TOKENS = z
  .object({
    id: text,
    family_id: text,
    token_hash: text,
    expires_at: sqliteDate,
    rotated_at: optionalDate,
    successor_ciphertext: optionalText,
    created_at: sqliteDate,
    updated_at: sqliteDate,
  })
  .transform(({ family_id, ...token }) => ({ ...token, session_id: family_id }));
const AVATARS = z.object({
  id: text,
  user_id: text,
  content_type: text,
  bytes: z.instanceof(Buffer),
  byte_length: z.number().int(),
  created_at: sqliteDate,
  updated_at: sqliteDate,
});

/** The SQLite tables, in an order that keeps foreign keys whole. */
const SQLITE_TABLES = [
  "users",
  "wechat_session_keys",
  "registration_tickets",
  "refresh_token_families",
  "refresh_tokens",
  "avatars",
] as const;

/** Rows per INSERT: far below PostgreSQL's 65,535 parameters per statement. */
const BATCH = 500;

/** Rows copied, per PostgreSQL table. */
export type ImportedCounts = Partial<Record<keyof DB, number>>;

export class SqliteImportError extends Error {
  override name = "SqliteImportError";
}

/**
 * Copies every row of the SQLite file into `db`, which must be migrated and hold no user yet.
 * Resolves the number of rows copied per PostgreSQL table.
 */
export async function importSqlite(sqliteFile: string, db: Database): Promise<ImportedCounts> {
  const sqlite = new Sqlite(sqliteFile, { readonly: true, fileMustExist: true });
  try {
    requireLastSqliteSchema(sqlite);
    return await db.transaction().execute(async (transaction) => {
      const existing = await transaction.selectFrom("users").select("id").limit(1).execute();
      if (existing.length > 0) {
        throw new SqliteImportError(
          "the PostgreSQL database already holds users: import into a new, empty database",
        );
      }
      const counts: ImportedCounts = {};
      /** Reads and checks one SQLite table, then inserts its rows in batches with `insert`. */
      const copy = async <Row>(
        from: (typeof SQLITE_TABLES)[number],
        to: keyof DB,
        schema: z.ZodType<Row>,
        insert: (rows: Row[]) => Promise<unknown>,
      ) => {
        const rows = sqlite
          .prepare(`SELECT * FROM "${from}"`)
          .all()
          .map((row, index) => {
            const result = schema.safeParse(row);
            if (!result.success) {
              throw new SqliteImportError(
                `${from}, row ${index + 1}: ${z.prettifyError(result.error)}`,
              );
            }
            return result.data;
          });
        for (let start = 0; start < rows.length; start += BATCH) {
          await insert(rows.slice(start, start + BATCH));
        }
        counts[to] = rows.length;
      };
      await copy("users", "users", USERS, (rows) =>
        transaction.insertInto("users").values(rows).execute(),
      );
      await copy("wechat_session_keys", "wechat_session_keys", WECHAT_SESSION_KEYS, (rows) =>
        transaction.insertInto("wechat_session_keys").values(rows).execute(),
      );
      await copy("registration_tickets", "registration_tickets", REGISTRATION_TICKETS, (rows) =>
        transaction.insertInto("registration_tickets").values(rows).execute(),
      );
      await copy("refresh_token_families", "sessions", SESSIONS, (rows) =>
        transaction.insertInto("sessions").values(rows).execute(),
      );
      await copy("refresh_tokens", "refresh_tokens", REFRESH_TOKENS, (rows) =>
        transaction.insertInto("refresh_tokens").values(rows).execute(),
      );
      await copy("avatars", "avatars", AVATARS, (rows) =>
        transaction.insertInto("avatars").values(rows).execute(),
      );
      return counts;
    });
  } finally {
    sqlite.close();
  }
}

const TABLE_INFO = z.array(z.object({ name: z.string() }));

/** The columns the last SQLite migration left; anything older is refused with what to do. */
function requireLastSqliteSchema(sqlite: Sqlite.Database): void {
  const columns = (table: string) =>
    TABLE_INFO.parse(sqlite.prepare(`PRAGMA table_info("${table}")`).all()).map(
      (column) => column.name,
    );
  const missing = [
    ...SQLITE_TABLES.filter((table) => columns(table).length === 0),
    ...(columns("users").includes("deletion_scheduled_at") ? [] : ["users.deletion_scheduled_at"]),
  ];
  if (missing.length > 0) {
    throw new SqliteImportError(
      `the SQLite database lacks ${missing.join(", ")}: it is not at the last SQLite version's ` +
        "schema. Start that version once on it (it migrates at start), then import.",
    );
  }
}
