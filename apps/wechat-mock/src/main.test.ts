import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { SANDBOX_APPID } from "./index.js";
import { exchangeQuery, sendSmsRequest, smsClient } from "./testing/helpers.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const mainJs = `${packageDir}dist/main.js`;

/** dist/main.js when it is at least as new as every file it is built from; otherwise undefined. */
function builtMainMtime(): number | undefined {
  try {
    const built = statSync(mainJs).mtimeMs;
    const newestSource = Math.max(
      ...readdirSync(`${packageDir}src`)
        .filter((file) => file.endsWith(".ts") && !file.endsWith(".test.ts"))
        .map((file) => statSync(`${packageDir}src/${file}`).mtimeMs),
    );
    return built >= newestSource ? built : undefined;
  } catch {
    return undefined;
  }
}

beforeAll(() => {
  // `turbo run test` builds first; a direct `vitest run` after editing src rebuilds here.
  if (builtMainMtime() === undefined) {
    execFileSync("pnpm", ["exec", "tsup"], { cwd: packageDir, stdio: "ignore" });
  }
}, 120_000);

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

async function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, [mainJs], {
    cwd: packageDir,
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  await expect
    .poll(() => /listening on (http:\/\/\S+)/.exec(output)?.[1], { timeout: 10_000 })
    .toBeDefined();
  const url = /listening on (http:\/\/\S+)/.exec(output)?.[1] ?? "";
  return { child, url, output: () => output };
}

describe("node dist/main.js", () => {
  it("listens on PORT=0, prints its URL, serves WeChat and dev calls, and exits 0 on SIGTERM", async () => {
    const { child, url, output } = await startMain({
      PORT: "0",
      WECHAT_APPID: "wxfromenv",
      WECHAT_SECRET: "secret-from-env",
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const { code } = (await (
      await fetch(`${url}/__dev/login-code`, { method: "POST", body: "{}" })
    ).json()) as { code: string };
    const exchange = (appid: string) =>
      fetch(
        `${url}/sns/jscode2session?appid=${appid}&secret=secret-from-env&js_code=${code}&grant_type=authorization_code`,
      ).then((res) => res.text());
    expect(JSON.parse(await exchange(SANDBOX_APPID))).toMatchObject({ errcode: 40013 });
    expect(JSON.parse(await exchange("wxfromenv"))).toHaveProperty("openid");
    expect(output()).toMatch(/GET \/sns\/jscode2session api=jscode2session/);
    expect(output()).not.toContain("secret-from-env");

    child.kill("SIGTERM");
    const [exitCode] = (await once(child, "exit")) as [number | null];
    expect(exitCode).toBe(0);
  });

  it("accepts SendSms signed with the TENCENTCLOUD_* key pair and SDK app id from its env", async () => {
    const { child, url, output } = await startMain({
      PORT: "0",
      TENCENTCLOUD_SECRET_ID: "AKIDfromenv",
      TENCENTCLOUD_SECRET_KEY: "key-from-env",
      TENCENT_SMS_SDK_APP_ID: "1400123456",
    });
    const client = smsClient(url, { secretId: "AKIDfromenv", secretKey: "key-from-env" });
    const response = await client.SendSms({
      ...sendSmsRequest(["+8613800138000"]),
      SmsSdkAppId: "1400123456",
    });
    expect(response.SendStatusSet?.[0]?.Code).toBe("Ok");
    await expect(smsClient(url).SendSms(sendSmsRequest(["+8613800138000"]))).rejects.toMatchObject({
      code: "AuthFailure.SecretIdNotFound",
    });
    expect(output()).not.toContain("key-from-env");
    child.kill("SIGTERM");
    await once(child, "exit");
  });

  it("maps unknown codes to the DevTools openid with SANDBOX_ACCEPT_UNKNOWN_CODES=1", async () => {
    const { child, url } = await startMain({ PORT: "0", SANDBOX_ACCEPT_UNKNOWN_CODES: "1" });
    const answer = await fetch(`${url}/sns/jscode2session?${exchangeQuery("from-devtools")}`).then(
      (res) => res.json(),
    );
    expect(answer).toMatchObject({ openid: expect.stringMatching(/^oDevTools/) });
    child.kill("SIGINT");
    const [exitCode] = (await once(child, "exit")) as [number | null];
    expect(exitCode).toBe(0);
  });

  it("serves the apps of SANDBOX_APPS, with SANDBOX_MEDIA_CHECK_DELAY_MS", async () => {
    const { child, url } = await startMain({
      PORT: "0",
      // Ignored beside SANDBOX_APPS, as `pnpm dev` passes the API's settings through.
      WECHAT_APPID: "wxignored",
      WECHAT_SECRET: "ignored-secret",
      SANDBOX_APPS: JSON.stringify([
        { appid: "wxshop", secret: "shop-secret" },
        { appid: "wxstaff", secret: "staff-secret", unionBound: false },
      ]),
      SANDBOX_MEDIA_CHECK_DELAY_MS: "0",
    });
    const mint = async (appid: string) =>
      (await (
        await fetch(`${url}/__dev/login-code`, {
          method: "POST",
          body: JSON.stringify({ appid, person: "alice" }),
        })
      ).json()) as { code: string; openid: string; unionid?: string };
    const shop = await mint("wxshop");
    const staff = await mint("wxstaff");
    expect(shop.unionid).toEqual(expect.any(String));
    expect(staff.unionid).toBeUndefined();
    const answer = await fetch(
      `${url}/sns/jscode2session?${exchangeQuery(staff.code, { appid: "wxstaff", secret: "staff-secret" })}`,
    ).then((res) => res.json());
    expect(answer).toEqual({ openid: staff.openid, session_key: expect.any(String) });
    child.kill("SIGTERM");
    await once(child, "exit");
  });

  it.each([
    [{ SANDBOX_APPS: "[{" }, /SANDBOX_APPS is not JSON/],
    [{ SANDBOX_APPS: '[{"appid":"wx1"}]' }, /SANDBOX_APPS\.0\.secret/],
    [{ SANDBOX_MEDIA_CHECK_DELAY_MS: "soon" }, /SANDBOX_MEDIA_CHECK_DELAY_MS must be/],
  ])("refuses %j with a readable message", async (env, message) => {
    const child = spawn(process.execPath, [mainJs], {
      env: { PATH: process.env.PATH, PORT: "0", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const [exitCode] = (await once(child, "exit")) as [number | null];
    expect(exitCode).toBe(1);
    expect(stderr).toMatch(message);
  });

  it("refuses a PORT that is not a port, with a readable message", async () => {
    const child = spawn(process.execPath, [mainJs], {
      env: { PATH: process.env.PATH, PORT: "http" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    children.push(child);
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const [exitCode] = (await once(child, "exit")) as [number | null];
    expect(exitCode).toBe(1);
    expect(stderr).toMatch(/PORT must be an integer/);
  });
});
