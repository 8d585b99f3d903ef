/*
 * `pnpm --filter @wxauth/api keys:reseal`: re-seals every sealed value under the first key of
 * DATA_KEYS, run with the deployment's environment once every instance runs with that key first.
 * It prints what it did per table; it exits 1 if any value could not be opened.
 */
import { ConfigError, loadConfig } from "../config.js";
import { createDatabase } from "../db/client.js";
import { resealAll } from "./reseal.js";
import { createSealedColumns } from "./reseal-store.js";

async function main(): Promise<number> {
  const config = loadConfig();
  const db = createDatabase(config.databaseUrl);
  try {
    const sealingKeyId = config.dataKeys[0]!.id;
    const reports = await resealAll(createSealedColumns(db), config.dataKeys);
    for (const report of reports) {
      process.stdout.write(
        `${report.table}: ${report.moved} moved to key "${sealingKeyId}"` +
          ` (${report.current} under it already, ${report.changedMeanwhile} rewritten meanwhile,` +
          ` ${report.unreadable} unreadable)\n`,
      );
    }
    const unreadable = reports.reduce((sum, report) => sum + report.unreadable, 0);
    if (unreadable > 0) {
      console.error(
        `${unreadable} values opened under no key of DATA_KEYS: they stay as they are and stay unreadable.`,
      );
      return 1;
    }
    return 0;
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  },
);
