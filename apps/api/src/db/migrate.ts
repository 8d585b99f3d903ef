import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { API_ROOT } from "../config.js";

/**
 * How many times a start-up retries when another instance holds the migration lock. Prisma waits
 * 10 s for PostgreSQL's advisory lock and then gives up (P1002); instances that start together
 * wait their turn instead of crashing, and find nothing left to apply.
 */
const LOCK_ATTEMPTS = 6;

/**
 * Applies pending migrations with `prisma migrate deploy`, through the Prisma CLI and
 * apps/api/prisma.config.ts (JS schema engine, driver adapter: no binary, works offline). The
 * config picks the schema and migrations from DATABASE_URL.
 */
export async function applyMigrations(databaseUrl: string): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const { exitCode, output } = await migrateDeploy(databaseUrl);
    if (exitCode === 0) return;
    const lockedByAnother = /advisory lock/i.test(output);
    if (!lockedByAnother || attempt === LOCK_ATTEMPTS) {
      throw new Error(`prisma migrate deploy failed (exit ${exitCode}):\n${output}`);
    }
    await sleep(250 * attempt);
  }
}

async function migrateDeploy(
  databaseUrl: string,
): Promise<{ exitCode: number | null; output: string }> {
  const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");
  const output: Buffer[] = [];
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [prismaCli, "migrate", "deploy", "--config", path.join(API_ROOT, "prisma.config.ts")],
      {
        cwd: API_ROOT,
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          PRISMA_HIDE_UPDATE_MESSAGE: "1",
          CHECKPOINT_DISABLE: "1",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
    child.on("error", reject);
    child.on("close", resolve);
  });
  return { exitCode, output: Buffer.concat(output).toString("utf8") };
}
