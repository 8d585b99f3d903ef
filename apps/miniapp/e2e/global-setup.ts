/*
 * The stack the end-to-end tests run against, all real processes over real HTTP: the WeChat
 * sandbox (also standing in for Tencent Cloud SMS), the built API as its own process on a fresh
 * PostgreSQL database, the H5 build pointed at both (served by a small static server), a fresh
 * dist/build/mp-weixin, and an mp-weixin build that verifies phones by SMS only.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createEmptyTestDatabase, startApiProcess } from "@wxauth/api/testing";
import {
  SANDBOX_APPID,
  SANDBOX_SECOND_APPID,
  SANDBOX_SECOND_SECRET,
  SANDBOX_SECRET,
} from "@wxauth/contracts/sandbox";
import { startSandbox } from "@wxauth/wechat-mock";
import type { TestProject } from "vitest/node";

export interface E2eStack {
  apiUrl: string;
  sandboxUrl: string;
  /** The H5 build, built with VITE_API_BASE_URL and VITE_WECHAT_SANDBOX_URL set to the above. */
  h5Url: string;
  /** dist/build/mp-weixin as `pnpm build:mp-weixin` makes it (API base URL left at its default). */
  mpWeixinDir: string;
  /** The same build with PHONE_VERIFICATION=sms: SMS codes only, no phone button. */
  mpWeixinSmsOnlyDir: string;
  /** The API's JWT_SECRET, so a test can mint an access token that has really expired. */
  jwtSecret: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    stack: E2eStack;
  }
}

/** The journeys use both ways of verifying a phone, whatever the environment says. */
const BOTH_WAYS = { PHONE_VERIFICATION: "both" };

const APP_DIR = fileURLToPath(new URL("..", import.meta.url));
const UNI_BIN = path.resolve(APP_DIR, "node_modules/.bin/uni");

export function uniBuild(
  args: string[],
  env: Record<string, string>,
  logFile: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile);
    const child = spawn(UNI_BIN, ["build", ...args], {
      cwd: APP_DIR,
      env: { ...process.env, NODE_ENV: "production", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `uni build ${args.join(" ")} failed (${code}); see ${logFile}:\n${readFileSync(logFile, "utf8").slice(-3000)}`,
            ),
          ),
    );
  });
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

/** Serves a static directory; unknown paths get index.html (the H5 app routes by hash). */
export async function serveStatic(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    let file = path.join(root, path.normalize(pathname));
    if (!file.startsWith(root) || !existsSync(file) || statSync(file).isDirectory()) {
      file = path.join(root, "index.html");
    }
    res.writeHead(200, {
      "content-type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
      "cache-control": "no-store",
    });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const E2E_PUSH_TOKEN = "wxauthE2ePushToken";

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), "wxauth-miniapp-e2e-"));
  const cleanups: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    const sandbox = await startSandbox({ log: () => undefined });
    cleanups.push(() => sandbox.close());

    const h5Dir = path.join(workDir, "h5");
    const h5Server = await serveStatic(h5Dir);
    cleanups.push(() => h5Server.close());

    const database = await createEmptyTestDatabase();
    cleanups.push(() => database.drop());
    const jwtSecret = randomBytes(32).toString("hex");
    const api = await startApiProcess({
      NODE_ENV: "test",
      DATABASE_URL: database.url,
      WECHAT_API_BASE_URL: sandbox.url,
      // The sandbox's two apps, bound to one Open Platform account: one account across both.
      // The first has WeChat's message push, so an avatar's content-check verdict reaches the API.
      WECHAT_APPS: JSON.stringify([
        { appid: SANDBOX_APPID, secret: SANDBOX_SECRET, name: "shop", pushToken: E2E_PUSH_TOKEN },
        { appid: SANDBOX_SECOND_APPID, secret: SANDBOX_SECOND_SECRET, name: "staff" },
      ]),
      // The sandbox is Tencent Cloud SMS too; its outbox (/__dev/sms) is where tests read codes.
      SMS_PROVIDER: "tencent",
      TENCENT_SMS_ENDPOINT: sandbox.url,
      JWT_SECRET: jwtSecret,
      CORS_ORIGINS: h5Server.url,
      // 3 days, not the contract's default of 7: the deletion warning must name the API's figure.
      ACCOUNT_DELETION_COOLING_OFF_S: String(3 * 86_400),
    });
    cleanups.push(async () => void (await api.stop()));
    sandbox.configurePush(SANDBOX_APPID, {
      pushUrl: `${api.url}/api/wechat/push/${SANDBOX_APPID}`,
      pushToken: E2E_PUSH_TOKEN,
    });

    const mpWeixinDir = path.join(APP_DIR, "dist/build/mp-weixin");
    const mpWeixinSmsOnlyDir = path.join(workDir, "mp-weixin-sms-only");
    await Promise.all([
      uniBuild(
        ["--outDir", h5Dir],
        { ...BOTH_WAYS, VITE_API_BASE_URL: api.url, VITE_WECHAT_SANDBOX_URL: sandbox.url },
        path.join(workDir, "build-h5.log"),
      ),
      uniBuild(["-p", "mp-weixin"], BOTH_WAYS, path.join(workDir, "build-mp-weixin.log")),
      uniBuild(
        ["-p", "mp-weixin", "--outDir", mpWeixinSmsOnlyDir],
        { PHONE_VERIFICATION: "sms" },
        path.join(workDir, "build-mp-weixin-sms-only.log"),
      ),
    ]);

    project.provide("stack", {
      apiUrl: api.url,
      sandboxUrl: sandbox.url,
      h5Url: h5Server.url,
      mpWeixinDir,
      mpWeixinSmsOnlyDir,
      jwtSecret,
    });
    return teardown;
  } catch (error) {
    await teardown();
    throw error;
  }
}
