import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { sandboxRoutes } from "@wxauth/contracts/sandbox";
import { describe, expect, inject, it } from "vitest";

const { mpWeixinDir } = inject("stack");

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(file) : [file];
  });
}

/**
 * The size the README promises: every file of the package summed. WeChat's own main-package limit
 * is 2 MB; a login page that downloads in one round trip on a weak connection needs far less.
 */
const PACKAGE_BUDGET_BYTES = 150 * 1024;

describe("dist/build/mp-weixin", () => {
  const files = filesUnder(mpWeixinDir);

  it("contains no trace of the H5 WeChat bridge", () => {
    const offenders = files.filter((file) => {
      const text = readFileSync(file, "utf8");
      return text.includes("__dev/") || text.includes("dev-phone") || text.includes("localStorage");
    });
    expect(offenders.map((file) => path.relative(mpWeixinDir, file))).toEqual([]);
  });

  it("reads no SMS code from the sandbox (H5 only): the user types it", () => {
    const offenders = files.filter((file) => {
      const text = readFileSync(file, "utf8");
      return (
        text.includes(sandboxRoutes.sms) ||
        text.includes("sandboxSmsCode") ||
        /\bfetch\(/.test(text)
      );
    });
    expect(offenders.map((file) => path.relative(mpWeixinDir, file))).toEqual([]);
    const readSentCode = readFileSync(path.join(mpWeixinDir, "wechat/sms.js"), "utf8");
    expect(readSentCode).toContain("Promise.resolve(void 0)");
  });

  it("carries nothing of the operators' console: its routes and error codes", () => {
    const offenders = files.filter((file) => {
      const text = readFileSync(file, "utf8");
      return text.includes("/api/admin") || text.includes("OPERATOR_") || text.includes("CSRF");
    });
    expect(offenders.map((file) => path.relative(mpWeixinDir, file))).toEqual([]);
  });

  it("makes no request to a third party (uni-app's CDN image preload is compiled out)", () => {
    const offenders = files.filter((file) => readFileSync(file, "utf8").includes("preloadAssets"));
    expect(offenders.map((file) => path.relative(mpWeixinDir, file))).toEqual([]);
  });

  it("imports into WeChat DevTools: project.config.json, pages and the privacy check", () => {
    const projectConfig = JSON.parse(
      readFileSync(path.join(mpWeixinDir, "project.config.json"), "utf8"),
    ) as { appid: string; compileType: string; setting: { urlCheck: boolean } };
    expect(projectConfig).toMatchObject({
      compileType: "miniprogram",
      setting: { urlCheck: false },
    });
    expect(projectConfig.appid).toBe(process.env.VITE_WECHAT_APPID || "touristappid");

    const appJson = JSON.parse(readFileSync(path.join(mpWeixinDir, "app.json"), "utf8")) as {
      pages: string[];
      tabBar: { list: { pagePath: string }[] };
      __usePrivacyCheck__: boolean;
    };
    // Home first: the app opens without an account.
    expect(appJson.pages).toEqual([
      "pages/home/home",
      "pages/login/login",
      "pages/me/me",
      "pages/legal/user-agreement",
      "pages/legal/privacy-policy",
    ]);
    expect(appJson.tabBar.list.map((tab) => tab.pagePath)).toEqual([
      "pages/home/home",
      "pages/me/me",
    ]);
    expect(appJson.__usePrivacyCheck__).toBe(true);
  });

  it("offers both ways of verifying a phone by default, with a prominent decline", () => {
    const login = readFileSync(path.join(mpWeixinDir, "pages/login/login.wxml"), "utf8");
    for (const id of ["sms-login", "skip-login", "agree-terms"])
      expect(login).toContain(`id="${id}"`);
    expect(login).toContain("<phone-button");
    const form = readFileSync(path.join(mpWeixinDir, "sms/SmsCodeForm.wxml"), "utf8");
    for (const id of ["sms-phone", "sms-send", "sms-code", "sms-submit"]) {
      expect(form).toContain(`id="${id}"`);
    }
    const profile = readFileSync(path.join(mpWeixinDir, "pages/me/me.wxml"), "utf8");
    expect(profile).toContain('id="rebind-sms"');
    // PHONE_VERIFICATION is a build-time constant (unset here: both).
    const ways = readFileSync(path.join(mpWeixinDir, "auth/phone-verification.js"), "utf8");
    expect(ways).toContain("{button:!0,sms:!0}");
  });

  it("uses the getPhoneNumber button with privacy consent in the same tap", () => {
    const wxml = readFileSync(path.join(mpWeixinDir, "wechat/PhoneButton.wxml"), "utf8");
    expect(wxml).toContain('open-type="getPhoneNumber|agreePrivacyAuthorization"');
    expect(wxml).toContain("bindgetphonenumber=");
    const profile = readFileSync(path.join(mpWeixinDir, "pages/me/me.wxml"), "utf8");
    expect(profile).toContain('type="nickname"');
  });

  it("picks the avatar with WeChat's chooseAvatar button, not H5's image picker", () => {
    const wxml = readFileSync(path.join(mpWeixinDir, "wechat/AvatarButton.wxml"), "utf8");
    expect(wxml).toContain('open-type="chooseAvatar"');
    expect(wxml).toContain("bindchooseavatar=");
    const script = readFileSync(path.join(mpWeixinDir, "wechat/AvatarButton.js"), "utf8");
    expect(script).not.toContain("chooseImage");
    const profile = readFileSync(path.join(mpWeixinDir, "pages/me/me.json"), "utf8");
    expect(profile).toContain("wechat/AvatarButton");
  });

  it("ships no JSON Schema or OpenAPI generator and no test code", () => {
    const markers = ["draft-2020-12", "components/schemas", "vitest", "installFakeUni"];
    const offenders = files.flatMap((file) => {
      const text = readFileSync(file, "utf8");
      const found = markers.filter((marker) => text.includes(marker));
      return found.length > 0 ? [`${path.relative(mpWeixinDir, file)}: ${found.join(", ")}`] : [];
    });
    expect(offenders).toEqual([]);
  });

  it("fits the 150 KB package budget", () => {
    const totalBytes = files.reduce((sum, file) => sum + statSync(file).size, 0);
    console.warn(
      `dist/build/mp-weixin: ${(totalBytes / 1024).toFixed(1)} KB in ${files.length} files`,
    );
    expect(totalBytes).toBeLessThanOrEqual(PACKAGE_BUDGET_BYTES);
  });
});
