/*
 * `pnpm --filter @wxauth/api keys:legacy`: prints, as `legacy:<key>`, the data key that JWT_SECRET
 * derived before DATA_KEYS existed. Appended to DATA_KEYS, it keeps every value sealed so far
 * readable (docs/deployment.md, "Upgrading to DATA_KEYS"). Run it with the deployment's JWT_SECRET.
 */
import { formatDataKey, legacyDataKey } from "./data-keys.js";

const secret = process.env.JWT_SECRET;
if (!secret) {
  console.error(
    "JWT_SECRET is not set: run this with the JWT_SECRET of the deployment whose data must stay readable.",
  );
  process.exit(1);
}
process.stdout.write(`${formatDataKey(legacyDataKey(secret))}\n`);
