/*
 * `pnpm --filter @wxauth/api exec tsx bench/sqlite-checkpoints.ts`: the statements of one
 * returning-user login (session upsert, then a refresh-token family and its first token in one
 * transaction), 20 000 times on a migrated SQLite file, timed one by one:
 *   - as SQLite does by default: the COMMIT that crosses 1000 log pages checkpoints, in line;
 *   - as the API runs (src/db/wal-checkpointer.ts): no checkpoint in line, a worker thread copies
 *     the log back.
 * It prints per-login latency percentiles and the worst case for each, in the same run.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { sqliteDriverPath, startWalCheckpointer } from "../src/db/wal-checkpointer.js";
import { API_ROOT } from "./processes.js";

const LOGINS = 20_000;
const USERS = 100;

interface Statement {
  run(...args: unknown[]): unknown;
  all(...args: unknown[]): unknown[];
}
interface Connection {
  prepare(sql: string): Statement;
  exec(sql: string): void;
  pragma(sql: string): unknown;
  close(): void;
}
const Driver = createRequire(import.meta.url)(sqliteDriverPath()) as new (
  file: string,
) => Connection;

const write = (line: string) => process.stdout.write(`${line}\n`);
const stamp = () => new Date().toISOString().replace("Z", "+00:00");
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;

function migratedDatabase(dir: string, name: string): string {
  const file = path.join(dir, name);
  const db = new Driver(file);
  db.pragma("journal_mode = WAL");
  const migrations = path.join(API_ROOT, "prisma", "sqlite", "migrations");
  for (const migration of readdirSync(migrations)
    .filter((entry) => !entry.endsWith(".toml"))
    .sort())
    db.exec(readFileSync(path.join(migrations, migration, "migration.sql"), "utf8"));
  const now = stamp();
  const user = db.prepare(
    "INSERT INTO users (id, openid, created_at, updated_at) VALUES (?, ?, ?, ?)",
  );
  for (let i = 0; i < USERS; i++) user.run(`user-${i}`, `openid-${i}`, now, now);
  db.close();
  return file;
}

async function logins(file: string, inLineCheckpoints: boolean) {
  const db = new Driver(file);
  db.pragma("synchronous = NORMAL");
  /** While the worker catches up (src/db/wal-checkpointer.ts), logins wait, as behind the API's gate. */
  let quiet: Promise<void> | undefined;
  const checkpointer = inLineCheckpoints
    ? undefined
    : startWalCheckpointer({
        filename: file,
        setAutocheckpoint: (pages) => db.pragma(`wal_autocheckpoint = ${pages}`),
        whileQuiet: async (work) => {
          quiet = work();
          await quiet;
          quiet = undefined;
        },
        onProblem: (message, error) => console.error(message, error),
      });
  const session = db.prepare(`INSERT INTO wechat_sessions
    (id, openid, unionid, session_key_ciphertext, obtained_at, created_at, updated_at)
    VALUES (?, ?, NULL, ?, ?, ?, ?)
    ON CONFLICT (openid) DO UPDATE SET session_key_ciphertext = excluded.session_key_ciphertext,
      obtained_at = excluded.obtained_at, updated_at = excluded.updated_at RETURNING id`);
  const family = db.prepare(
    "INSERT INTO refresh_token_families (id, user_id, created_at, updated_at) VALUES (?, ?, ?, ?)",
  );
  const token = db.prepare(
    "INSERT INTO refresh_tokens (id, family_id, token_hash, expires_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const sealed = `v1.${randomBytes(60).toString("base64url")}`;
  const times: number[] = [];
  for (let i = 0; i < LOGINS; i++) {
    const started = performance.now();
    if (quiet) await quiet;
    const now = stamp();
    session.all(randomUUID(), `openid-${i % USERS}`, sealed, now, now, now);
    begin.run();
    const familyId = randomUUID();
    family.run(familyId, `user-${i % USERS}`, now, now);
    token.run(randomUUID(), familyId, randomBytes(32).toString("base64url"), now, now, now);
    commit.run();
    times.push(performance.now() - started);
    // The worker needs the event loop's turns no more than the API gives it: none at all.
    if (i % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await checkpointer?.stop();
  db.close();
  times.sort((a, b) => a - b);
  const us = (ms: number) => `${(ms * 1000).toFixed(0)} us`;
  const total = times.reduce((sum, ms) => sum + ms, 0);
  return `mean ${us(total / LOGINS)}, p50 ${us(percentile(times, 50))}, p99 ${us(percentile(times, 99))}, p99.9 ${us(percentile(times, 99.9))}, worst ${us(times.at(-1) ?? 0)}`;
}

const dir = mkdtempSync(path.join(tmpdir(), "wxauth-checkpoints-"));
try {
  write(`${LOGINS} logins' statements on SQLite (WAL, synchronous=NORMAL), timed one by one:`);
  for (let round = 1; round <= 2; round++) {
    const inLine = await logins(migratedDatabase(dir, `in-line-${round}.db`), true);
    write(`  checkpoints in line (SQLite's default): ${inLine}`);
    const worker = await logins(migratedDatabase(dir, `worker-${round}.db`), false);
    write(`  checkpoints on a worker (the API):      ${worker}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
