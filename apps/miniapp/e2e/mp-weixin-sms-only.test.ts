/*
 * The mp-weixin build made with PHONE_VERIFICATION=sms (for an app whose account cannot use
 * getPhoneNumber, or will not pay for it), in miniprogram-simulate against the real API: a new
 * user is offered the SMS form and no phone button, registers by SMS, and changes the phone by SMS.
 */
import { randomBytes } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import {
  createMiniProgram,
  has,
  installWechatRuntime,
  textOf,
  waiterFor,
  type SimulatedComponent,
} from "./wechat-runtime";

const stack = inject("stack");
const CREDENTIALS_KEY = "wxauth.credentials";

const runtime = installWechatRuntime({
  apiUrl: stack.apiUrl,
  sandboxUrl: stack.sandboxUrl,
  openid: `o${randomBytes(20).toString("base64url").slice(0, 27)}`,
});
const until = waiterFor(runtime);

/** Fills an SMS form (inside `scope`) for `phone` and submits the code the sandbox sent. */
async function verifyBySms(page: SimulatedComponent, scope: string, phone: string) {
  const field = (id: string) => {
    const element = page.querySelector(`${scope} >>> #${id}`);
    if (!element) throw new Error(`no #${id} in the SMS form`);
    return element;
  };
  field("sms-phone").dispatchEvent("input", { detail: { value: phone } });
  const sentBefore = runtime.requests.length;
  field("sms-send").dispatchEvent("tap");
  await until(
    () => runtime.requests.slice(sentBefore).some((call) => /^POST \S+\/sms\S* 200$/.test(call)),
    "the SMS send",
  );
  // In WeChat the user types the code from the SMS; the test reads it from the sandbox.
  const code = await runtime.smsCode(`+86${phone}`);
  field("sms-code").dispatchEvent("input", { detail: { value: code } });
  field("sms-submit").dispatchEvent("tap");
}

describe("mp-weixin built with PHONE_VERIFICATION=sms", () => {
  const miniProgram = createMiniProgram(stack.mpWeixinSmsOnlyDir);

  it("a new user gets the SMS form, no phone button, and registers with a code", async () => {
    miniProgram.launch();
    const home = miniProgram.open("pages/home/home");
    await until(
      () => runtime.requests.includes("POST /api/auth/wechat/login 200"),
      "the silent login at launch",
    );
    home.querySelector("#home-login")?.dispatchEvent("tap");
    const login = miniProgram.open("pages/login/login");
    await until(() => textOf(login, "#login-status").includes("首次使用"), "registration prompt");
    await until(() => has(login, ".register >>> #sms-phone"), "the SMS form");
    expect(has(login, ".register >>> #phone-login")).toBe(false);

    login.querySelector("#agree-terms")?.dispatchEvent("tap");
    await verifyBySms(login, ".register", "13712345678");
    await until(() => runtime.navigations.at(-1) === "/pages/me/me", "reLaunch to the profile");
    expect(runtime.requests.filter((call) => call.includes("/api/auth/"))).toEqual([
      "POST /api/auth/wechat/login 200",
      "POST /api/auth/sms/send 200",
      "POST /api/auth/wechat/register 201",
    ]);
    expect(runtime.storage.get(CREDENTIALS_KEY)).toMatchObject({
      user: { phone: "+8613712345678" },
    });
  });

  it("the profile changes the phone by SMS, offered at once, with no phone button", async () => {
    const profile = miniProgram.open("pages/me/me");
    // The SMS form is there at once: no phone button, and nothing to switch to.
    await until(() => has(profile, ".card >>> #sms-phone"), "the SMS form for a new phone");
    expect(has(profile, ".card >>> #rebind-phone")).toBe(false);
    expect(has(profile, "#rebind-sms")).toBe(false);
    await verifyBySms(profile, ".card", "13787654321");
    await until(() => textOf(profile, "#profile-phone") === "137****4321", "the new masked phone");
    expect(runtime.requests).toContain("POST /api/me/phone 200");
    expect(textOf(profile, "#profile-status")).toBe("手机号已更换");
  });
});
