/*
 * The operators' console as production runs it, in real Chromium: the API process (dist/main.js)
 * serving the built console at /admin/, on a fresh PostgreSQL database, with the WeChat sandbox
 * behind it. An operator made by operator:create signs in, replaces the one-time password, finds
 * a user by the last 4 digits of their phone, signs one of their sessions out, bans them (their
 * next /api/me is 403 ACCOUNT_DISABLED), unbans them, and finds both actions in the audit log.
 */
import { execFile } from "node:child_process";
import { randomInt } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  AuthenticatedSchema,
  ErrorBodySchema,
  RegistrationRequiredSchema,
  WechatLoginResponseSchema,
} from "@wxauth/contracts";
import {
  SandboxLoginCodeResponseSchema,
  SandboxPhoneCodeResponseSchema,
} from "@wxauth/contracts/sandbox";
import { createEmptyTestDatabase, startApiProcess, type ApiProcess } from "@wxauth/api/testing";
import { startSandbox, type RunningSandbox } from "@wxauth/wechat-mock";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const DIST = fileURLToPath(new URL("../dist/index.html", import.meta.url));
const API_DIR = fileURLToPath(new URL("../../api", import.meta.url));
const SCREENSHOT_DIR = fileURLToPath(new URL("../dist/e2e-screenshots", import.meta.url));
const run = promisify(execFile);

interface EndUser {
  id: string;
  openid: string;
  accessToken: string;
}

describe("the console against the real API", () => {
  let sandbox: RunningSandbox;
  let api: ApiProcess;
  let database: { url: string; drop(): Promise<void> };
  let browser: Browser;
  let page: Page;
  let operator: { name: string; password: string };
  let phoneNumber: string;
  /** The user's two sessions: the registration's, and a second sign-in. */
  let first: EndUser;
  let second: EndUser;

  async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  async function signIn(openid?: string) {
    const minted = SandboxLoginCodeResponseSchema.parse(
      (await postJson(`${sandbox.url}/__dev/login-code`, openid ? { openid } : {})).body,
    );
    const login = await postJson(`${api.url}/api/auth/wechat/login`, { code: minted.code });
    expect(login.status).toBe(200);
    return { openid: minted.openid, answer: WechatLoginResponseSchema.parse(login.body) };
  }

  const meStatus = async (user: EndUser) =>
    (await fetch(`${api.url}/api/me`, { headers: { authorization: `Bearer ${user.accessToken}` } }))
      .status;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\``);
    }
    if (!existsSync(DIST)) {
      throw new Error(`${DIST} is missing: run \`pnpm --filter @wxauth/admin build\` first`);
    }
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    // Fails with a message naming PostgreSQL when it is not there.
    database = await createEmptyTestDatabase();
    sandbox = await startSandbox({ port: 0, host: "127.0.0.1", log: () => undefined });
    api = await startApiProcess({
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      DATABASE_URL: database.url,
      WECHAT_API_BASE_URL: sandbox.url,
    });

    // The first operator, as docs/deployment.md creates it.
    const name = "alice";
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "src/admin/operator-create-command.ts", name, "--role", "admin"],
      {
        cwd: API_DIR,
        env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", DATABASE_URL: database.url },
      },
    );
    operator = { name, password: stdout.trim().split("\n").at(-1)! };

    // A user with a phone whose last 4 digits no one else has, signed in twice.
    phoneNumber = `139${String(randomInt(0, 1e8)).padStart(8, "0")}`;
    const registration = await signIn();
    const phone = SandboxPhoneCodeResponseSchema.parse(
      (
        await postJson(`${sandbox.url}/__dev/phone-code`, {
          phoneNumber,
          openid: registration.openid,
        })
      ).body,
    );
    const registered = await postJson(`${api.url}/api/auth/wechat/register`, {
      registrationTicket: RegistrationRequiredSchema.parse(registration.answer).registrationTicket,
      phoneCode: phone.code,
    });
    expect(registered.status).toBe(201);
    const session = AuthenticatedSchema.parse(registered.body);
    first = { id: session.user.id, openid: registration.openid, accessToken: session.accessToken };
    const again = AuthenticatedSchema.parse((await signIn(registration.openid)).answer);
    second = { ...first, accessToken: again.accessToken };

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    page = await browser.newPage({ locale: "zh-CN", viewport: { width: 1280, height: 900 } });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await api?.stop();
    await sandbox?.close();
    await database?.drop();
  });

  it("is served by the API at /admin/, and asks who is there", async () => {
    await page.goto(`${api.url}/admin/`);
    await page.waitForURL(/\/admin\/sign-in/);
    expect(await page.$eval("#operator-signin", (element) => element.tagName)).toBe("BUTTON");
  });

  it("signs in with the one-time password, which must be changed first", async () => {
    await page.fill("#operator-name", operator.name);
    await page.fill("#operator-password", operator.password);
    await page.click("#operator-signin");
    await page.waitForURL(/\/admin\/password/);
    const newPassword = "a passphrase of alice's own";
    await page.fill("#current-password", operator.password);
    await page.fill("#new-password", newPassword);
    await page.fill("#new-password-again", newPassword);
    await page.click("#password-change");
    await page.waitForURL(/\/admin\/users/);
    operator.password = newPassword;
  });

  it("finds the user by the last 4 digits of the phone and opens them", async () => {
    await page.fill("#user-search", phoneNumber.slice(-4));
    await page.press("#user-search", "Enter");
    await expect.poll(() => page.locator(".user-row").count(), { timeout: 10_000 }).toBe(1);
    expect(await page.textContent(".user-row")).toContain(
      `${phoneNumber.slice(0, 3)}****${phoneNumber.slice(-4)}`,
    );
    await page.click(`.user-row >> text=${first.id}`);
    await page.waitForURL(new RegExp(`/admin/users/${first.id}`));
    await expect.poll(() => page.locator(".session-row").count(), { timeout: 10_000 }).toBe(2);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/user.png`, fullPage: true });
  });

  it("signs one session out: its token stops working at once, the other's does not", async () => {
    expect(await meStatus(first)).toBe(200);
    expect(await meStatus(second)).toBe(200);
    // The newest session is listed first: the second sign-in's.
    await page.locator(".session-revoke").first().click();
    await expect.poll(() => page.locator(".session-row").count(), { timeout: 10_000 }).toBe(1);
    expect(await meStatus(second)).toBe(401);
    expect(await meStatus(first)).toBe(200);
  });

  it("bans the user: their next /api/me is 403 ACCOUNT_DISABLED", async () => {
    await page.click("#user-ban");
    await page.fill("#ban-reason", "spam in the comments");
    await page.click("#ban-confirm");
    await page.waitForSelector("#user-unban", { timeout: 10_000 });
    const me = await fetch(`${api.url}/api/me`, {
      headers: { authorization: `Bearer ${first.accessToken}` },
    });
    expect(me.status).toBe(403);
    expect(ErrorBodySchema.parse(await me.json()).error.code).toBe("ACCOUNT_DISABLED");
    await expect.poll(() => page.locator(".session-row").count(), { timeout: 10_000 }).toBe(0);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/banned.png`, fullPage: true });
  });

  it("unbans the user: they can sign in again", async () => {
    await page.click("#user-unban");
    await page.waitForSelector("#user-ban", { timeout: 10_000 });
    const again = await signIn(first.openid);
    expect(again.answer.status).toBe("authenticated");
  });

  it("finds the ban and the unban in the audit log, by this operator", async () => {
    await page.goto(`${api.url}/admin/audit`);
    await page.waitForSelector("#audit-log .audit-row", { timeout: 10_000 });
    const rows = await page.$$eval("#audit-log .audit-row", (elements) =>
      elements.map((row) => ({
        action: row.querySelector("[data-action]")?.getAttribute("data-action"),
        text: row.textContent ?? "",
      })),
    );
    const actions = rows.map((row) => row.action);
    expect(actions).toEqual(
      expect.arrayContaining(["user_banned", "user_unbanned", "user_session_revoked"]),
    );
    // Newest first: the unban came after the ban.
    expect(actions.indexOf("user_unbanned")).toBeLessThan(actions.indexOf("user_banned"));
    const ban = rows.find((row) => row.action === "user_banned")!;
    expect(ban.text).toContain(operator.name);
    expect(ban.text).toContain(first.id);
    await page.screenshot({ path: `${SCREENSHOT_DIR}/audit.png`, fullPage: true });
  });
});
