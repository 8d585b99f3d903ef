import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { errorCatalog } from "@wxauth/contracts";
import { SandboxSmsMessagesSchema, sandboxRoutes } from "@wxauth/contracts/sandbox";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { solidPng } from "@wxauth/api/testing";
import { meStatusWith, signInElsewhere } from "./other-device";
import { expiredCopyOf } from "./tokens";

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
const CREDENTIALS_KEY = "wxauth.credentials";
/** Where the H5 WeChat bridge keeps this browser's sandbox openid. */
const TEST_OPENID_KEY = "wxauth.dev.openid";
const PHONE_SCREEN = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  locale: "zh-CN",
};
const SCREENSHOT_DIR = fileURLToPath(new URL("../dist/e2e-screenshots", import.meta.url));

const stack = inject("stack");

/** The code of the newest SMS the sandbox (as Tencent Cloud SMS) delivered to `phone`. */
async function sandboxSmsCode(phone: string): Promise<string> {
  const url = `${stack.sandboxUrl}${sandboxRoutes.sms}?phone=${encodeURIComponent(phone)}`;
  const { messages } = SandboxSmsMessagesSchema.parse(await (await fetch(url)).json());
  const code = messages[0]?.params[0];
  if (code === undefined) throw new Error(`no SMS reached ${phone}`);
  return code;
}

interface StoredCredentials {
  accessToken: string;
  refreshToken: string;
}

async function storedCredentials(page: Page): Promise<StoredCredentials | null> {
  const raw = await page.evaluate((key) => localStorage.getItem(key), CREDENTIALS_KEY);
  if (!raw) return null;
  // uni-h5 stores objects as {"type":"object","data":...}
  return (JSON.parse(raw) as { data: StoredCredentials }).data;
}

async function statusText(page: Page): Promise<string> {
  return (await page.locator("#login-status").textContent())?.trim() ?? "";
}

/** Every API call the page makes, as "METHOD /path STATUS". */
function recordApiCalls(page: Page): string[] {
  const calls: string[] = [];
  page.on("response", (response) => {
    const url = new URL(response.url());
    if (url.origin === stack.apiUrl && response.request().method() !== "OPTIONS") {
      calls.push(`${response.request().method()} ${url.pathname} ${response.status()}`);
    }
  });
  return calls;
}

describe("H5 build in Chromium against the real API and the WeChat sandbox", () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let calls: string[];

  /** A new tab in the same browser profile: the app starts from scratch, storage is kept. */
  async function launchApp(): Promise<void> {
    await page?.close();
    page = await context.newPage();
    calls = recordApiCalls(page);
    await page.goto(stack.h5Url);
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\``);
    }
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    // One browser profile, one WeChat test user: each test continues the same user's story.
    context = await browser.newContext(PHONE_SCREEN);
  });

  afterAll(async () => {
    await browser?.close();
  });

  /** The H5 tab bar's tab with this label. */
  const tab = (label: string) => page.locator(".uni-tabbar__item").filter({ hasText: label });

  /** Signed out: the profile tab shows a guest, nothing signs the user back in, home again. */
  async function expectGuestForTheLaunch(): Promise<void> {
    calls.length = 0;
    await tab("我的").click();
    await page.waitForURL(/pages\/me\/me/);
    await page.locator("#profile-login").waitFor();
    await page.waitForTimeout(300);
    expect(page.url()).toMatch(/pages\/me\/me/);
    expect(calls).toEqual([]);
    await tab("首页").click();
    await page.locator("#home-login").waitFor();
  }

  it("a guest browses home: the launch's silent login asks for nothing", async () => {
    await launchApp();
    await page.locator("#home-login").waitFor();
    await expect.poll(() => calls).toEqual(["POST /api/auth/wechat/login 200"]);
    await page.waitForTimeout(300);
    expect(page.url()).not.toMatch(/pages\/login/);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "h5-home-guest.png") });
  });

  it("the profile tab as a guest opens the login page; 暂不登录 returns home", async () => {
    await tab("我的").click();
    await page.waitForURL(/pages\/login\/login/);
    await expect.poll(() => statusText(page)).toContain("首次使用");
    // The ticket from the launch's silent login serves: no second login.
    expect(calls).toEqual(["POST /api/auth/wechat/login 200"]);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "h5-login.png") });

    await page.locator("#skip-login").click();
    // uni-h5 serves the first page, home, at the root of the hash router.
    await page.waitForURL((url) => url.hash === "#/");
    await page.locator("#home-login").waitFor();
  });

  it("after 暂不登录 nothing asks again during the launch", async () => {
    await tab("我的").click();
    await page.waitForURL(/pages\/me\/me/);
    await page.locator("#profile-login").waitFor();
    await page.waitForTimeout(300);
    expect(page.url()).toMatch(/pages\/me\/me/);
    expect(calls).toEqual(["POST /api/auth/wechat/login 200"]);
    // Asking is the user's call.
    await page.locator("#profile-login").click();
    await page.waitForURL(/pages\/login\/login/);
  });

  it("registers a new user: agreement, phone button, dev sheet, then the profile", async () => {
    await launchApp();
    await page.locator("#home-login").click();
    await page.locator("#agree-terms").waitFor();
    expect(await statusText(page)).toContain("首次使用");
    expect(calls).toEqual(["POST /api/auth/wechat/login 200"]);

    await page.locator("#agree-terms").click();
    await page.locator("#phone-login").click();
    await page.locator("#dev-phone-input input").fill("13800138000");
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "h5-dev-phone-sheet.png") });
    await page.locator("#dev-phone-confirm").click();

    await page.waitForURL(/pages\/me\/me/);
    await expect.poll(() => page.locator("#profile-phone").textContent()).toBe("138****8000");
    expect(calls).toContain("POST /api/auth/wechat/register 201");
    expect(calls.filter((call) => call.includes("/register"))).toHaveLength(1);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "h5-profile.png") });
  });

  it("keeps the credentials across a reload", async () => {
    calls.length = 0;
    await page.reload();
    await page.waitForURL(/pages\/me\/me/);
    await expect.poll(() => page.locator("#profile-phone").textContent()).toBe("138****8000");
    await expect.poll(() => calls).toContain("GET /api/me 200");
    expect(calls.some((call) => call.includes("/api/auth/wechat/login"))).toBe(false);
  });

  it("refreshes an expired access token without the user noticing", async () => {
    const credentials = await storedCredentials(page);
    if (!credentials) throw new Error("no stored credentials");
    const expired = expiredCopyOf(credentials.accessToken, stack.jwtSecret);
    const tampered = JSON.stringify({
      type: "object",
      data: { ...credentials, accessToken: expired },
    });
    await page.evaluate(({ key, value }) => localStorage.setItem(key, value), {
      key: CREDENTIALS_KEY,
      value: tampered,
    });
    calls.length = 0;
    await page.reload();

    await page.waitForURL(/pages\/me\/me/);
    await expect
      .poll(() => calls)
      .toEqual([
        "GET /api/me 401",
        "POST /api/auth/refresh 200",
        "GET /api/me 200",
        "GET /api/me/sessions 200",
      ]);
    expect(await page.locator("#profile-phone").textContent()).toBe("138****8000");
    const rotated = await storedCredentials(page);
    expect(rotated?.accessToken).not.toBe(expired);
    expect(rotated?.refreshToken).not.toBe(credentials.refreshToken);
  });

  it("saves the nickname with PATCH /api/me", async () => {
    calls.length = 0;
    await page.locator("#profile-nickname input").fill("小明");
    await page.locator("#save-profile").click();
    await expect.poll(() => page.locator("#profile-status").textContent()).toBe("已保存");
    expect(calls).toEqual(["PATCH /api/me 200"]);
    await page.reload();
    await expect.poll(() => page.locator(".identity-name").textContent()).toBe("小明");
  });

  it("uploads a chosen avatar at once and shows it from the API", async () => {
    const avatar = solidPng(64, 64, [7, 193, 96]);
    calls.length = 0;
    // H5 has no chooseAvatar button: the same button opens the device's image picker.
    const chooser = page.waitForEvent("filechooser");
    await page.locator("#choose-avatar").click();
    await (await chooser).setFiles({ name: "avatar.png", mimeType: "image/png", buffer: avatar });

    await expect.poll(() => page.locator("#profile-status").textContent()).toBe("头像已更新");
    expect(calls.filter((call) => call.startsWith("POST"))).toEqual(["POST /api/me/avatar 200"]);
    const shown = page.locator("#profile-avatar img");
    const src = await shown.getAttribute("src");
    expect(src).toMatch(new RegExp(`^${stack.apiUrl}/api/avatars/[0-9a-f-]{36}$`));
    // The browser really loads and displays the served image (a cross-origin <img>, no token).
    await expect.poll(() => calls).toContain(`GET ${new URL(src!).pathname} 200`);
    await expect.poll(() => shown.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(64);
    const served = await fetch(src!);
    expect(Buffer.from(await served.arrayBuffer()).equals(avatar)).toBe(true);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "h5-profile-avatar.png") });

    await page.reload();
    await expect.poll(() => page.locator("#profile-avatar img").getAttribute("src")).toBe(src);
  });

  it("a nickname WeChat's content check finds risky is refused by the field; the old one stays", async () => {
    calls.length = 0;
    await page.locator("#profile-nickname input").fill("违规昵称");
    await page.locator("#save-profile").click();
    await expect
      .poll(() => page.locator("#nickname-error").textContent())
      .toBe(errorCatalog.CONTENT_REJECTED.message.zh);
    // The reload that ended the last test may still be loading the session list.
    expect(calls.filter((call) => call.startsWith("PATCH"))).toEqual(["PATCH /api/me 422"]);
    expect(await page.locator(".identity-name").textContent()).toBe("小明");
    // Changing the text clears the refusal.
    await page.locator("#profile-nickname input").fill("小明同学");
    await expect.poll(() => page.locator("#nickname-error").count()).toBe(0);
  });

  it("an avatar WeChat's check finds risky is removed after the upload, and the profile says so", async () => {
    const verdict = await fetch(`${stack.sandboxUrl}${sandboxRoutes.mediaVerdict}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ suggest: "risky" }),
    });
    expect(verdict.status).toBe(200);
    const chooser = page.waitForEvent("filechooser");
    await page.locator("#choose-avatar").click();
    const image = solidPng(8, 8, [250, 0, 0]);
    await (await chooser).setFiles({ name: "avatar.png", mimeType: "image/png", buffer: image });
    await expect.poll(() => page.locator("#profile-status").textContent()).toBe("头像已更新");
    // The verdict arrives as a push from WeChat (the sandbox) a moment later.
    const credentials = await storedCredentials(page);
    await expect
      .poll(async () => {
        const me = await fetch(`${stack.apiUrl}/api/me`, {
          headers: { authorization: `Bearer ${credentials?.accessToken}` },
        });
        return ((await me.json()) as { avatarUrl: string | null }).avatarUrl;
      })
      .toBeNull();
    await page.reload();
    await expect.poll(() => page.locator("#avatar-removed-notice").count()).toBe(1);
    expect(await page.locator("#profile-avatar").count()).toBe(0);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "h5-profile-avatar-removed.png") });

    // Another avatar ends the notice.
    const next = page.waitForEvent("filechooser");
    await page.locator("#choose-avatar").click();
    await (await next).setFiles({ name: "avatar.png", mimeType: "image/png", buffer: image });
    await expect.poll(() => page.locator("#avatar-removed-notice").count()).toBe(0);
  });

  it("logs out: the server session is revoked and the login page waits for a tap", async () => {
    const credentials = await storedCredentials(page);
    calls.length = 0;
    await page.locator("#logout").click();
    await expect.poll(() => statusText(page)).toBe("你已退出登录");
    expect(calls).toContain("POST /api/auth/logout 204");
    expect(await storedCredentials(page)).toBeNull();

    // The revoked refresh token no longer works.
    const refresh = await fetch(`${stack.apiUrl}/api/auth/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refreshToken: credentials?.refreshToken }),
    });
    expect(refresh.status).toBe(401);
  });

  it("signs a returning user in silently at the next launch", async () => {
    await launchApp();
    await expect.poll(() => page.locator("#home-phone").textContent()).toBe("138****8000");
    expect(calls[0]).toBe("POST /api/auth/wechat/login 200");
    expect(calls.some((call) => call.includes("/register"))).toBe(false);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "h5-home-signed-in.png") });
  });

  it("after logout, one tap on the login button signs the same user in again", async () => {
    await tab("我的").click();
    await page.waitForURL(/pages\/me\/me/);
    await page.locator("#logout").click();
    await expect.poll(() => statusText(page)).toBe("你已退出登录");
    calls.length = 0;
    await page.locator("#login-retry").click();
    await page.waitForURL(/pages\/me\/me/);
    expect(calls[0]).toBe("POST /api/auth/wechat/login 200");
  });

  it("rebinds the phone number through the phone button and the dev sheet", async () => {
    calls.length = 0;
    await page.locator("#rebind-phone").click();
    await page.locator("#dev-phone-input input").fill("13700137000");
    await page.locator("#dev-phone-confirm").click();
    await expect.poll(() => page.locator("#profile-phone").textContent()).toBe("137****7000");
    expect(calls.filter((call) => call.includes("/api/me/phone"))).toEqual([
      "POST /api/me/phone 200",
    ]);
    expect(await page.locator("#profile-status").textContent()).toBe("手机号已更换");
  });

  it("lists this browser and a sign-in elsewhere, and signs the other one out at once", async () => {
    const openid = await page.evaluate((key) => localStorage.getItem(key), TEST_OPENID_KEY);
    const elsewhere = await signInElsewhere(stack, openid!, {
      platform: "android",
      model: "Pixel 8",
      system: "Android 14",
    });
    await page.reload();
    const items = page.locator("#sessions .session-item");
    await expect.poll(() => items.count()).toBe(2);
    expect(await items.nth(0).textContent()).toContain("Pixel 8 · Android 14");
    expect(await items.nth(1).textContent()).toContain("本机");
    expect(await items.nth(1).locator(".session-revoke").count()).toBe(0);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "h5-sessions.png"), fullPage: true });

    calls.length = 0;
    await items.nth(0).locator(".session-revoke").click();
    await expect.poll(() => items.count()).toBe(1);
    expect(calls).toEqual([expect.stringMatching(/^DELETE \/api\/me\/sessions\/\S+ 204$/)]);
    expect(await meStatusWith(stack.apiUrl, elsewhere.accessToken)).toBe(401);
  });

  it("signs out everywhere: home as a guest, and the other session is refused", async () => {
    const openid = await page.evaluate((key) => localStorage.getItem(key), TEST_OPENID_KEY);
    const elsewhere = await signInElsewhere(stack, openid!, { model: "iPad" });
    calls.length = 0;
    await page.locator("#logout-all").click();
    await page.waitForURL((url) => url.hash === "#/");
    await page.locator("#home-login").waitFor();
    expect(calls).toContain("DELETE /api/me/sessions 204");
    expect(await storedCredentials(page)).toBeNull();
    expect(await meStatusWith(stack.apiUrl, elsewhere.accessToken)).toBe(401);
    await expectGuestForTheLaunch();
  });

  it("deletes the account after a confirmation that says what goes and when", async () => {
    await page.locator("#home-login").click();
    await page.waitForURL(/pages\/me\/me/);
    await page.locator("#sessions .session-item").first().waitFor();
    const modal = page.locator(".uni-modal");

    calls.length = 0;
    await page.locator("#delete-account").click();
    await modal.waitFor();
    expect(await modal.locator(".uni-modal__title").textContent()).toBe("注销账号");
    const warning = (await modal.locator(".uni-modal__bd").textContent()) ?? "";
    expect(warning).toMatch(/手机号.*头像.*登录设备/);
    expect(warning).toContain("删除在 3 天冷静期后进行");
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "h5-delete-account.png") });
    await modal.locator(".uni-modal__btn_default").click();
    await modal.waitFor({ state: "hidden" });
    // Declined: nothing changes; the warning's figure was read from the API at the tap.
    expect(calls).toEqual(["GET /api/me 200"]);

    await page.locator("#delete-account").click();
    await modal.locator(".uni-modal__btn_primary").click();
    await expect.poll(() => modal.locator(".uni-modal__title").textContent()).toBe("已申请注销");
    expect(calls).toEqual(["GET /api/me 200", "GET /api/me 200", "POST /api/me/deletion 202"]);
    await modal.locator(".uni-modal__btn_primary").click();
    await page.waitForURL((url) => url.hash === "#/");
    await page.locator("#home-login").waitFor();
    expect(await storedCredentials(page)).toBeNull();
    await expectGuestForTheLaunch();
  });

  it("signing in during the cooling-off period offers to cancel the deletion", async () => {
    await page.locator("#home-login").click();
    await page.waitForURL(/pages\/me\/me/);
    await expect.poll(() => page.locator("#deletion-notice").textContent()).toContain("注销");
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "h5-deletion-notice.png") });

    calls.length = 0;
    await page.locator("#cancel-deletion").click();
    await expect.poll(() => page.locator("#deletion-notice").count()).toBe(0);
    expect(calls).toEqual(["DELETE /api/me/deletion 200"]);
    expect(await page.locator("#profile-status").textContent()).toBe("已撤销注销，账号将继续保留");
  });

  it("opens the agreement pages from the login page", async () => {
    context = await browser.newContext(PHONE_SCREEN);
    await launchApp(); // a new browser profile is a new WeChat user: registration required
    await page.locator("#home-login").click();
    await page.locator("#agree-terms").waitFor();
    await page.getByText("《用户协议》").click();
    await page.waitForURL(/pages\/legal\/user-agreement/);
    await expect.poll(() => page.getByText("一、协议的范围").count()).toBe(1);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "h5-user-agreement.png") });
    await page.goBack();
    await page.getByText("《隐私政策》").click();
    await page.waitForURL(/pages\/legal\/privacy-policy/);
    await expect.poll(() => page.getByText("一、我们收集的信息").count()).toBe(1);
  });

  it("a new user declines the phone button and registers by SMS", async () => {
    context = await browser.newContext(PHONE_SCREEN);
    await launchApp(); // a new browser profile is a new WeChat user
    await page.locator("#home-login").click();
    await page.locator("#agree-terms").waitFor();
    expect(await page.locator("#sms-login").count()).toBe(1);
    expect(await page.locator("#sms-phone").count()).toBe(0);
    await page.locator("#agree-terms").click();
    await page.locator("#phone-login").click();
    await page.locator("#dev-phone-cancel").click();

    // The refusal is final for this launch: SMS takes the button's place, 暂不登录 stays.
    await page.locator("#sms-phone").waitFor();
    expect(await statusText(page)).toBe("你未授权微信手机号");
    expect(await page.locator("#phone-login").count()).toBe(0);
    expect(await page.locator("#skip-login").isVisible()).toBe(true);
    await page.locator("#sms-phone input").fill("13512345678");
    await page.locator("#sms-send").click();
    await expect.poll(() => page.locator("#sms-send").textContent()).toMatch(/\d+ 秒后重发/);
    expect(calls).toContain("POST /api/auth/sms/send 200");
    // The H5 dev bridge fills in the code the sandbox delivered (in WeChat the user types it).
    const delivered = await sandboxSmsCode("+8613512345678");
    await expect.poll(() => page.locator("#sms-code input").inputValue()).toBe(delivered);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, "h5-login-sms.png") });
    await page.locator("#sms-submit").click();

    await page.waitForURL(/pages\/me\/me/);
    await expect.poll(() => page.locator("#profile-phone").textContent()).toBe("135****5678");
    expect(calls.filter((call) => call.includes("/register"))).toEqual([
      "POST /api/auth/wechat/register 201",
    ]);
  });

  it("changes the phone by SMS from the profile", async () => {
    calls.length = 0;
    await page.locator("#rebind-sms").click();
    await page.locator("#sms-phone input").fill("+8613412345678");
    await page.locator("#sms-send").click();
    await expect.poll(() => calls).toContain("POST /api/me/phone/sms 200");
    const delivered = await sandboxSmsCode("+8613412345678");
    await expect.poll(() => page.locator("#sms-code input").inputValue()).toBe(delivered);
    await page.locator("#sms-submit").click();
    await expect.poll(() => page.locator("#profile-phone").textContent()).toBe("134****5678");
    expect(calls.filter((call) => call.includes("/api/me/phone"))).toEqual([
      "POST /api/me/phone/sms 200",
      "POST /api/me/phone 200",
    ]);
    expect(await page.locator("#profile-status").textContent()).toBe("手机号已更换");
  });
});
