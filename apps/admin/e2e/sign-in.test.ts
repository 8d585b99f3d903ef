import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { preview, type PreviewServer } from "vite";
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
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DIST = fileURLToPath(new URL("../dist/index.html", import.meta.url));
const SCREENSHOT_DIR = fileURLToPath(new URL("../dist/e2e-screenshots", import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * The built console as the API will serve it (at /admin/), in real Chromium. No API answers behind
 * the proxy here: this proves the page an operator meets first, and that its fields are real
 * form controls; the journey against the real API belongs with the API's admin routes.
 */
describe("the built console's sign-in page", () => {
  let server: PreviewServer;
  let browser: Browser;
  let page: Page;
  let baseUrl: string;

  beforeAll(async () => {
    if (!existsSync(DIST)) {
      throw new Error(`${DIST} is missing: run \`pnpm --filter @wxauth/admin build\` first`);
    }
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\``);
    }
    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    // A port nothing listens on: the console must cope with an API that does not answer.
    const deadApi = `http://127.0.0.1:${await freePort()}`;
    process.env.VITE_API_PROXY = deadApi;
    const port = await freePort();
    server = await preview({
      root: ROOT,
      logLevel: "silent",
      preview: { port, strictPort: true, host: "127.0.0.1", proxy: { "/api": deadApi } },
    });
    baseUrl = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
    page = await browser.newPage({ locale: "zh-CN", viewport: { width: 1280, height: 800 } });
  });

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) =>
      server ? server.httpServer.close(() => resolve()) : resolve(),
    );
  });

  it("sends a visitor without a session to sign-in, remembering where they were going", async () => {
    await page.goto(`${baseUrl}/admin/users/u-1`);
    await page.waitForURL(/\/admin\/sign-in/);
    expect(new URL(page.url()).searchParams.get("redirect")).toBe("/users/u-1");
    await page.screenshot({ path: `${SCREENSHOT_DIR}/sign-in.png` });
  });

  it("has real form controls at the ids the issue names", async () => {
    expect(await page.$eval("#operator-name", (el) => el.tagName)).toBe("INPUT");
    expect(await page.$eval("#operator-password", (el) => (el as HTMLInputElement).type)).toBe(
      "password",
    );
    expect(await page.$eval("#operator-signin", (el) => el.tagName)).toBe("BUTTON");
    // The labels point at the fields, so screen readers and password managers find them.
    expect(await page.getByLabel("用户名").getAttribute("id")).toBe("operator-name");
  });

  it("says so when the API does not answer, and stays on sign-in", async () => {
    await page.fill("#operator-name", "alice");
    await page.fill("#operator-password", "one-time-password");
    await page.click("#operator-signin");
    await expect
      .poll(() => page.textContent("#signin-error"), { timeout: 10_000 })
      .toContain("无法连接服务器");
    expect(new URL(page.url()).pathname).toBe("/admin/sign-in");
    // A failed sign-in keeps what was typed: the operator corrects, not retypes.
    expect(await page.inputValue("#operator-name")).toBe("alice");
  });
});
