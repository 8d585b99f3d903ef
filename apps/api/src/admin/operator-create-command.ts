/*
 * `pnpm --filter @wxauth/api operator:create <name> --role admin|viewer`: creates an operator of
 * the console and prints a one-time password on its last line, which the operator must change at
 * first sign-in. Run with the deployment's environment (DATABASE_URL); it applies pending
 * migrations first, so the first operator can come before the API's first start.
 *
 * `--reset`: an operator of that name that exists gets a new one-time password and the role, and
 * its sessions end (a forgotten password). `--dev` is what `pnpm dev` runs: as `--reset`, and no
 * change is asked for; refused with NODE_ENV=production.
 */
import { parseArgs } from "node:util";
import { OPERATOR_ROLES, type OperatorRole } from "@wxauth/contracts/admin";
import { MemoryStore } from "@wxauth/wechat";
import { ConfigError, loadConfig } from "../config.js";
import { createDatabase } from "../db/client.js";
import { createDataAccess } from "../db/data-access.js";
import { applyMigrations } from "../db/migrate.js";
import { systemClock } from "../clock.js";
import { createOperators } from "./operators.service.js";

const USAGE = "usage: operator:create <name> --role admin|viewer [--reset]";

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      role: { type: "string" },
      reset: { type: "boolean", default: false },
      dev: { type: "boolean", default: false },
    },
  });
  const [name, ...rest] = positionals;
  const role = values.role as OperatorRole | undefined;
  if (!name || rest.length > 0 || name.length > 64 || !role || !OPERATOR_ROLES.includes(role)) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig();
  if (values.dev && config.nodeEnv === "production") {
    console.error("operator:create --dev is for pnpm dev only, never with NODE_ENV=production");
    return 2;
  }
  await applyMigrations(config.databaseUrl);
  const data = createDataAccess(createDatabase(config.databaseUrl));
  try {
    // Creating an operator signs nobody in: the sign-in limits' store is never used.
    const operators = createOperators({ data, store: new MemoryStore(), clock: systemClock });
    const password = await operators.create(name, role, {
      dev: values.dev,
      reset: values.reset || values.dev,
    });
    process.stdout.write(
      values.dev
        ? `operator "${name}" (${role}) ready for pnpm dev; its password:\n${password}\n`
        : `operator "${name}" (${role}) created. Its one-time password, to be changed at first sign-in:\n${password}\n`,
    );
    return 0;
  } finally {
    await data.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(
      error instanceof ConfigError ? error.message : error instanceof Error ? error.message : error,
    );
    process.exit(1);
  },
);
