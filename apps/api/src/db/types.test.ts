/*
 * src/db/types.ts is generated from prisma/schema.prisma (prisma-kysely) and committed, so a fresh
 * clone typechecks, lints and runs without a generate step. This fails when the two drift apart:
 * run `pnpm --filter @wxauth/api db:generate` after changing the schema.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { API_ROOT } from "../config.js";

const run = promisify(execFile);
const scratch = mkdtempSync(path.join(os.tmpdir(), "wxauth-api-types-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it("src/db/types.ts is what prisma generate makes of prisma/schema.prisma", async () => {
  // The schema's generators write beside it (../src/db/types.ts): a copy writes into the scratch.
  const schema = path.join(scratch, "prisma", "schema.prisma");
  cpSync(path.join(API_ROOT, "prisma", "schema.prisma"), schema);
  const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");
  await run(process.execPath, [prismaCli, "generate", "--schema", schema], {
    cwd: API_ROOT,
    env: {
      ...process.env,
      // The prisma-kysely generator is found as a command.
      PATH: `${path.join(API_ROOT, "node_modules", ".bin")}${path.delimiter}${process.env.PATH}`,
      PRISMA_HIDE_UPDATE_MESSAGE: "1",
      CHECKPOINT_DISABLE: "1",
    },
  });
  const generated = readFileSync(path.join(scratch, "src", "db", "types.ts"), "utf8");
  expect(generated, "run `pnpm --filter @wxauth/api db:generate`").toBe(
    readFileSync(path.join(API_ROOT, "src", "db", "types.ts"), "utf8"),
  );
}, 60_000);
