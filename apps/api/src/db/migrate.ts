import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { API_ROOT } from "../config.js";

/**
 * Applies pending migrations with `prisma migrate deploy`, through the Prisma CLI and
 * apps/api/prisma.config.ts (JS schema engine, driver adapter: no binary, works offline). The
 * config picks the schema and migrations from DATABASE_URL.
 */
export async function applyMigrations(databaseUrl: string): Promise<void> {
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
  if (exitCode !== 0) {
    throw new Error(
      `prisma migrate deploy failed (exit ${exitCode}):\n${Buffer.concat(output).toString("utf8")}`,
    );
  }
}
