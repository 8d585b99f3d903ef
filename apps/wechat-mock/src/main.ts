import { startSandbox } from "./sandbox.js";

function readPort(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 3100;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    console.error(`wechat-mock: PORT must be an integer from 0 to 65535, got "${raw}"`);
    process.exit(1);
  }
  return port;
}

const sandbox = await startSandbox({
  port: readPort(process.env.PORT),
  host: process.env.HOST || "127.0.0.1",
  appid: process.env.WECHAT_APPID || undefined,
  secret: process.env.WECHAT_SECRET || undefined,
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
