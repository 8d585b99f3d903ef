import { SandboxAppsSchema, type SandboxAppInput } from "@wxauth/contracts/sandbox";
import * as z from "zod/mini";
import { en } from "zod/locales";
import { startSandbox } from "./sandbox.js";

z.config(en());

function fail(message: string): never {
  console.error(`wechat-mock: ${message}`);
  process.exit(1);
}

function readPort(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 3100;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    fail(`PORT must be an integer from 0 to 65535, got "${raw}"`);
  }
  return port;
}

/** SANDBOX_APPS: a JSON array of { appid, secret, unionBound?, pushUrl?, pushToken?, pushAesKey? }. */
function readApps(raw: string | undefined): SandboxAppInput[] | undefined {
  if (raw === undefined || raw === "") return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    fail("SANDBOX_APPS is not JSON");
  }
  const parsed = SandboxAppsSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue) => `${["SANDBOX_APPS", ...issue.path].join(".")}: ${issue.message}`,
    );
    fail(issues.join("; "));
  }
  return parsed.data;
}

function readDelay(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0 || ms > 60_000) {
    fail(`SANDBOX_MEDIA_CHECK_DELAY_MS must be an integer from 0 to 60000, got "${raw}"`);
  }
  return ms;
}

const apps = readApps(process.env.SANDBOX_APPS);
const sandbox = await startSandbox({
  port: readPort(process.env.PORT),
  host: process.env.HOST || "127.0.0.1",
  apps,
  // SANDBOX_APPS wins: `pnpm dev` hands the sandbox the whole environment, the API's WECHAT_* too.
  appid: apps === undefined ? process.env.WECHAT_APPID || undefined : undefined,
  secret: apps === undefined ? process.env.WECHAT_SECRET || undefined : undefined,
  mediaCheckDelayMs: readDelay(process.env.SANDBOX_MEDIA_CHECK_DELAY_MS),
  sms: {
    secretId: process.env.TENCENTCLOUD_SECRET_ID || undefined,
    secretKey: process.env.TENCENTCLOUD_SECRET_KEY || undefined,
    sdkAppId: process.env.TENCENT_SMS_SDK_APP_ID || undefined,
  },
  acceptUnknownCodes: ["1", "true"].includes(process.env.SANDBOX_ACCEPT_UNKNOWN_CODES ?? ""),
});
process.stdout.write(`wechat-mock listening on ${sandbox.url}\n`);

function shutDown(signal: NodeJS.Signals): void {
  process.stdout.write(`wechat-mock: ${signal}, closing\n`);
  sandbox.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error("wechat-mock: close failed", error);
      process.exit(1);
    },
  );
}
process.once("SIGTERM", shutDown);
process.once("SIGINT", shutDown);
