import { randomBytes } from "node:crypto";
import { UserSchema, errorCatalog } from "@wxauth/contracts";
import { SANDBOX_APPID, SANDBOX_SECOND_APPID } from "@wxauth/contracts/sandbox";
import { describe, expect, inject, it } from "vitest";
import { solidPng } from "@wxauth/api/testing";
import { meStatusWith, signInElsewhere } from "./other-device";
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

/** The <button> inside a page's PhoneButton component (">>>" crosses into the component). */
function phoneButtonOf(page: SimulatedComponent, id: string): SimulatedComponent {
  const button = page.querySelector(`.register >>> #${id}`);
  if (!button) throw new Error(`no #${id} inside the phone button component`);
  return button;
}

/**
 * The simulator renders built-in components without their properties, so the button's state is
 * read from the class bound to the same expression as its `disabled`.
 */
const isDisabled = (button: SimulatedComponent) => button.dom.className.includes("btn-disabled");

/** Ticks the agreement, then WeChat answers the phone button with `errMsg`: the SMS form shows. */
async function refusePhoneButton(login: SimulatedComponent, errMsg: string): Promise<void> {
  login.querySelector("#agree-terms")?.dispatchEvent("tap");
  const phoneButton = phoneButtonOf(login, "phone-login");
  await until(() => !isDisabled(phoneButton), "the phone button to enable");
  phoneButton.dispatchEvent("getphonenumber", { detail: { errMsg } });
  await until(() => has(login, ".register >>> #sms-phone"), "the SMS form");
}

/** A WeChat user the API has never seen; WeChat-shaped: 28 characters starting with "o". */
const newOpenid = () => `o${randomBytes(20).toString("base64url").slice(0, 27)}`;

const runtime = installWechatRuntime({
  apiUrl: stack.apiUrl,
  sandboxUrl: stack.sandboxUrl,
  openid: newOpenid(),
});
const until = waiterFor(runtime);

describe("compiled mini program (dist/build/mp-weixin) in miniprogram-simulate", () => {
  const miniProgram = createMiniProgram(stack.mpWeixinDir);
  let profile: SimulatedComponent;

  /** Home and the profile tab show a guest, and nothing signs the user back in this launch. */
  async function expectGuestForTheLaunch(): Promise<void> {
    const requestsBefore = runtime.requests.length;
    const navigationsBefore = runtime.navigations.length;
    const home = miniProgram.open("pages/home/home");
    await until(() => has(home, "#home-login"), "the guest home");
    const guest = miniProgram.open("pages/me/me");
    await until(() => has(guest, "#profile-login"), "the guest profile");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(runtime.navigations.slice(navigationsBefore)).toEqual([]);
    expect(runtime.requests.slice(requestsBefore)).toEqual([]);
  }

  it("a guest browses home: the launch's silent login asks for nothing", async () => {
    miniProgram.launch();
    const home = miniProgram.open("pages/home/home");
    await until(() => runtime.requests.length === 1, "the silent login at launch");
    expect(runtime.requests).toEqual(["POST /api/auth/wechat/login 200"]);
    expect(has(home, "#home-login")).toBe(true);
    expect(has(home, "#home-greeting")).toBe(false);
    // Give a redirect time to happen: none may.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(runtime.navigations).toEqual([]);
  });

  it("登录 / 注册 opens the login page on the launch's ticket; 暂不登录 returns home", async () => {
    const home = miniProgram.open("pages/home/home");
    home.querySelector("#home-login")?.dispatchEvent("tap");
    await until(() => runtime.navigations.at(-1) === "/pages/login/login", "the login page");
    const login = miniProgram.open("pages/login/login");
    await until(() => textOf(login, "#login-status").includes("首次使用"), "registration prompt");
    // The ticket from the launch's silent login serves: no second login.
    expect(runtime.requests).toEqual(["POST /api/auth/wechat/login 200"]);

    login.querySelector("#skip-login")?.dispatchEvent("tap");
    await until(() => runtime.navigations.at(-1) === "/pages/home/home", "reLaunch to home");
  });

  it("after 暂不登录, the profile tab shows a guest and does not ask again", async () => {
    const navigationsBefore = runtime.navigations.length;
    const guest = miniProgram.open("pages/me/me");
    await until(() => has(guest, "#profile-login"), "the guest profile");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(runtime.navigations.slice(navigationsBefore)).toEqual([]);
    // Asking is the user's call: the button opens the login page.
    guest.querySelector("#profile-login")?.dispatchEvent("tap");
    await until(() => runtime.navigations.at(-1) === "/pages/login/login", "the login page");
    expect(runtime.requests).toEqual(["POST /api/auth/wechat/login 200"]);
  });

  it("the profile tab as a guest asks to log in; a refused phone sheet gives SMS", async () => {
    runtime.requests.length = 0;
    miniProgram.launch();
    const navigationsBefore = runtime.navigations.length;
    miniProgram.open("pages/me/me");
    await until(() => runtime.navigations.length > navigationsBefore, "a navigation");
    expect(runtime.navigations.at(-1)).toBe("/pages/login/login");

    const login = miniProgram.open("pages/login/login");
    await until(() => textOf(login, "#login-status").includes("首次使用"), "registration prompt");
    expect(has(login, ".register >>> #sms-phone")).toBe(false);
    const phoneButton = phoneButtonOf(login, "phone-login");
    expect(isDisabled(phoneButton)).toBe(true);
    login.querySelector("#agree-terms")?.dispatchEvent("tap");
    await until(() => !isDisabled(phoneButton), "the phone button to enable");

    phoneButton.dispatchEvent("getphonenumber", {
      detail: { errMsg: "getPhoneNumber:fail user deny" },
    });
    await until(() => has(login, ".register >>> #sms-phone"), "the SMS form");
    expect(textOf(login, "#login-status")).toBe("你未授权微信手机号");
    expect(has(login, ".register >>> #phone-login")).toBe(false);
    expect(has(login, "#skip-login")).toBe(true);
    expect(runtime.requests).toEqual(["POST /api/auth/wechat/login 200"]);
  });

  it("WeChat refusing the button (no permission) puts the SMS form in its place", async () => {
    miniProgram.launch();
    const login = miniProgram.open("pages/login/login");
    await until(() => textOf(login, "#login-status").includes("首次使用"), "registration prompt");
    await refusePhoneButton(login, "getPhoneNumber:fail no permission");
    expect(textOf(login, "#login-status")).toBe("当前小程序无法使用微信手机号验证");
  });

  it("new user: agreement, one getPhoneNumber tap, then the profile", async () => {
    runtime.requests.length = 0;
    miniProgram.launch();
    const home = miniProgram.open("pages/home/home");
    await until(() => runtime.requests.length === 1, "the silent login at launch");
    home.querySelector("#home-login")?.dispatchEvent("tap");
    const login = miniProgram.open("pages/login/login");
    await until(() => textOf(login, "#login-status").includes("首次使用"), "registration prompt");
    // Both ways are offered: the button, and SMS one tap away.
    expect(has(login, "#sms-login")).toBe(true);

    const phoneButton = phoneButtonOf(login, "phone-login");
    login.querySelector("#agree-terms")?.dispatchEvent("tap");
    await until(() => !isDisabled(phoneButton), "the phone button to enable");

    // A double tap delivers two events; only one registration may go out.
    const code = await runtime.phoneCode("13912345678");
    const detail = { errMsg: "getPhoneNumber:ok", code };
    phoneButton.dispatchEvent("getphonenumber", { detail });
    phoneButton.dispatchEvent("getphonenumber", { detail });
    await until(() => runtime.navigations.at(-1) === "/pages/me/me", "reLaunch to the profile");
    expect(runtime.requests).toEqual([
      "POST /api/auth/wechat/login 200",
      "POST /api/auth/wechat/register 201",
    ]);
    expect(runtime.storage.get(CREDENTIALS_KEY)).toMatchObject({
      user: { phone: "+8613912345678" },
    });

    profile = miniProgram.open("pages/me/me");
    await until(() => textOf(profile, "#profile-phone") === "139****5678", "the masked phone");
    await until(() => runtime.requests.includes("GET /api/me 200"), "GET /api/me");
  });

  it("restores the stored credentials at the next launch", async () => {
    const requestsBefore = runtime.requests.length;
    const navigationsBefore = runtime.navigations.length;
    miniProgram.launch();
    const home = miniProgram.open("pages/home/home");
    await until(() => textOf(home, "#home-phone") === "139****5678", "the signed-in home");
    expect(runtime.requests.slice(requestsBefore)).toEqual([]);
    expect(runtime.navigations.slice(navigationsBefore)).toEqual([]);
    profile = miniProgram.open("pages/me/me");
    await until(() => textOf(profile, "#profile-phone") === "139****5678", "the masked phone");
  });

  it("rebinds the phone from the profile with one getPhoneNumber tap", async () => {
    const button = profile.querySelector(".card >>> #rebind-phone");
    if (!button) throw new Error("no #rebind-phone");
    const code = await runtime.phoneCode("13600136000");
    button.dispatchEvent("getphonenumber", { detail: { errMsg: "getPhoneNumber:ok", code } });
    await until(() => textOf(profile, "#profile-phone") === "136****6000", "the new masked phone");
    expect(runtime.requests).toContain("POST /api/me/phone 200");
    expect(textOf(profile, "#profile-status")).toBe("手机号已更换");
  });

  it("uploads the avatar chosen with chooseAvatar and keeps the served URL", async () => {
    const button = profile.querySelector(".header >>> #choose-avatar");
    if (!button) throw new Error("no #choose-avatar");
    const avatar = solidPng(32, 32, [25, 137, 250]);
    button.dispatchEvent("chooseavatar", {
      detail: { avatarUrl: runtime.tempFile(avatar, "png") },
    });
    await until(() => textOf(profile, "#profile-status") === "头像已更新", "the upload");
    expect(runtime.requests.filter((call) => call.includes("/avatar"))).toEqual([
      "POST /api/me/avatar 200",
    ]);
    const { user } = runtime.storage.get(CREDENTIALS_KEY) as { user: unknown };
    const { avatarUrl } = UserSchema.parse(user);
    expect(avatarUrl).toMatch(new RegExp(`^${stack.apiUrl}/api/avatars/[0-9a-f-]{36}$`));
    const served = await fetch(avatarUrl!);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await served.arrayBuffer()).equals(avatar)).toBe(true);
  });

  // wx.request has no PATCH: the mini program sends PATCH /api/me as POST with
  // X-HTTP-Method-Override: PATCH, and the API routes it as PATCH.
  it("saves the nickname through POST + X-HTTP-Method-Override", async () => {
    profile
      .querySelector("#profile-nickname")
      ?.dispatchEvent("input", { detail: { value: "小明" } });
    const save = profile.querySelector("#save-profile");
    if (!save) throw new Error("no #save-profile");
    await until(() => !isDisabled(save), "the save button to enable");
    save.dispatchEvent("tap");
    await until(
      () => runtime.requests.some((call) => call.startsWith("POST /api/me ")),
      "the save",
    );
    expect(runtime.requests).toContain("POST /api/me 200");
    expect(textOf(profile, "#profile-status")).toBe("已保存");
  });

  it("shows WeChat's refusal of a risky nickname by the field", async () => {
    profile
      .querySelector("#profile-nickname")
      ?.dispatchEvent("input", { detail: { value: "违规昵称" } });
    const save = profile.querySelector("#save-profile");
    if (!save) throw new Error("no #save-profile");
    await until(() => !isDisabled(save), "the save button to enable");
    save.dispatchEvent("tap");
    await until(() => textOf(profile, "#nickname-error") !== "", "the refusal");
    expect(runtime.requests).toContain("POST /api/me 422");
    expect(textOf(profile, "#nickname-error")).toBe(errorCatalog.CONTENT_REJECTED.message.zh);
    expect(textOf(profile, ".identity-name")).toBe("小明");
  });

  it("returning user: after logout, the next launch signs in silently without a tap", async () => {
    profile.querySelector("#logout")?.dispatchEvent("tap");
    await until(
      () => runtime.navigations.at(-1) === "/pages/login/login?signedOut=1",
      "reLaunch to login",
    );
    expect(runtime.requests).toContain("POST /api/auth/logout 204");
    expect(runtime.storage.has(CREDENTIALS_KEY)).toBe(false);

    const requestsBefore = runtime.requests.length;
    const navigationsBefore = runtime.navigations.length;
    miniProgram.launch();
    const home = miniProgram.open("pages/home/home");
    await until(() => textOf(home, "#home-phone") === "136****6000", "the signed-in home");
    expect(runtime.requests.slice(requestsBefore)).toEqual(["POST /api/auth/wechat/login 200"]);
    expect(runtime.navigations.slice(navigationsBefore)).toEqual([]);

    profile = miniProgram.open("pages/me/me");
    await until(() => textOf(profile, "#profile-phone") === "136****6000", "the masked phone");
  });

  it("lists this phone and a sign-in elsewhere, and signs the other one out at once", async () => {
    const elsewhere = await signInElsewhere(stack, runtime.openid, {
      platform: "android",
      model: "Pixel 8",
      system: "Android 14",
    });
    profile = miniProgram.open("pages/me/me");
    const items = () => profile.querySelectorAll("#sessions .session-item");
    await until(() => items().length === 2, "two sessions in the list");
    const [newest, older] = items().map((item) => item.dom.textContent ?? "");
    expect(newest).toContain("Pixel 8 · Android 14");
    // This phone's session carries what wx.getDeviceInfo reported at sign-in.
    expect(older).toContain("iPhone 15 · iOS 17.0");
    expect(older).toContain("本机");
    // One sign-out button: the other session's, none for this phone's own.
    const revokeButtons = profile.querySelectorAll("#sessions .session-revoke");
    expect(revokeButtons).toHaveLength(1);

    expect(await meStatusWith(stack.apiUrl, elsewhere.accessToken)).toBe(200);
    revokeButtons[0]?.dispatchEvent("tap");
    await until(() => items().length === 1, "the other session to leave the list");
    expect(
      runtime.requests.some((call) => /^DELETE \/api\/me\/sessions\/\S+ 204$/.test(call)),
    ).toBe(true);
    expect(textOf(profile, "#profile-status")).toBe("已退出该设备");
    // Refused at once, long before the access token expires.
    expect(await meStatusWith(stack.apiUrl, elsewhere.accessToken)).toBe(401);
  });

  it("signs out everywhere: this phone goes home as a guest, the other session is refused", async () => {
    const elsewhere = await signInElsewhere(stack, runtime.openid, { model: "iPad" });
    const navigationsBefore = runtime.navigations.length;
    profile.querySelector("#logout-all")?.dispatchEvent("tap");
    await until(
      () => runtime.navigations.slice(navigationsBefore).includes("/pages/home/home"),
      "reLaunch to home",
    );
    expect(runtime.requests).toContain("DELETE /api/me/sessions 204");
    expect(runtime.storage.has(CREDENTIALS_KEY)).toBe(false);
    expect(await meStatusWith(stack.apiUrl, elsewhere.accessToken)).toBe(401);
    await expectGuestForTheLaunch();
  });

  it("deletes the account after a confirmation that says what goes and when", async () => {
    miniProgram.launch();
    miniProgram.open("pages/login/login");
    await until(() => runtime.navigations.at(-1) === "/pages/me/me", "the silent sign-in");
    profile = miniProgram.open("pages/me/me");
    await until(() => textOf(profile, "#profile-phone") === "136****6000", "the masked phone");
    await until(() => profile.querySelectorAll(".session-item").length > 0, "the sessions");

    // Declined: nothing changes; the warning's figure was read from the API at the tap.
    const requestsBefore = runtime.requests.length;
    runtime.modalAnswers.push(false);
    profile.querySelector("#delete-account")?.dispatchEvent("tap");
    await until(() => runtime.modals.length === 1, "the confirmation");
    const [confirmation] = runtime.modals;
    expect(confirmation?.title).toBe("注销账号");
    expect(confirmation?.content).toMatch(/手机号.*头像.*登录设备/);
    expect(confirmation?.content).toContain("删除在 3 天冷静期后进行");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(runtime.requests.slice(requestsBefore)).toEqual(["GET /api/me 200"]);

    const navigationsBefore = runtime.navigations.length;
    profile.querySelector("#delete-account")?.dispatchEvent("tap");
    await until(
      () => runtime.navigations.slice(navigationsBefore).includes("/pages/home/home"),
      "reLaunch to home as a guest",
    );
    expect(runtime.requests).toContain("POST /api/me/deletion 202");
    expect(runtime.modals.map((modal) => modal.title)).toEqual([
      "注销账号",
      "注销账号",
      "已申请注销",
    ]);
    expect(runtime.modals[2]?.content).toContain("重新登录");
    expect(runtime.storage.has(CREDENTIALS_KEY)).toBe(false);
    await expectGuestForTheLaunch();
  });

  it("signing in during the cooling-off period offers to cancel the deletion", async () => {
    miniProgram.launch();
    miniProgram.open("pages/login/login");
    await until(() => runtime.navigations.at(-1) === "/pages/me/me", "the sign-in");
    profile = miniProgram.open("pages/me/me");
    await until(() => textOf(profile, "#deletion-notice").includes("注销"), "the notice");

    profile.querySelector("#cancel-deletion")?.dispatchEvent("tap");
    // The simulator's querySelector answers undefined for no match.
    await until(() => !profile.querySelector("#deletion-notice"), "the notice to go");
    expect(runtime.requests).toContain("DELETE /api/me/deletion 200");
    expect(textOf(profile, "#profile-status")).toBe("已撤销注销，账号将继续保留");
    expect(runtime.storage.get(CREDENTIALS_KEY)).toMatchObject({
      user: { deletionScheduledAt: null },
    });
  });

  it("a new user declines the phone button and registers by SMS", async () => {
    runtime.openid = newOpenid();
    runtime.storage.clear();
    runtime.requests.length = 0;
    miniProgram.launch();
    const home = miniProgram.open("pages/home/home");
    await until(
      () => runtime.requests.includes("POST /api/auth/wechat/login 200"),
      "the silent login at launch",
    );
    home.querySelector("#home-login")?.dispatchEvent("tap");
    const login = miniProgram.open("pages/login/login");
    await until(() => textOf(login, "#login-status").includes("首次使用"), "registration prompt");
    await refusePhoneButton(login, "getPhoneNumber:fail user deny");

    const field = (id: string) => {
      const element = login.querySelector(`.register >>> #${id}`);
      if (!element) throw new Error(`no #${id} in the SMS form`);
      return element;
    };
    field("sms-phone").dispatchEvent("input", { detail: { value: "13612345678" } });
    field("sms-send").dispatchEvent("tap");
    await until(() => runtime.requests.includes("POST /api/auth/sms/send 200"), "the SMS send");
    await until(() => textOf(login, ".register >>> #sms-send").includes("秒后重发"), "countdown");
    // In WeChat the user types the code from the SMS; the test reads it from the sandbox.
    const code = await runtime.smsCode("+8613612345678");
    field("sms-code").dispatchEvent("input", { detail: { value: code } });
    field("sms-submit").dispatchEvent("tap");
    await until(() => runtime.navigations.at(-1) === "/pages/me/me", "reLaunch to the profile");
    // (The previous launch's profile page may still be fetching /api/me.)
    expect(runtime.requests.filter((call) => call.includes("/api/auth/"))).toEqual([
      "POST /api/auth/wechat/login 200",
      "POST /api/auth/sms/send 200",
      "POST /api/auth/wechat/register 201",
    ]);
    expect(runtime.storage.get(CREDENTIALS_KEY)).toMatchObject({
      user: { phone: "+8613612345678" },
    });
  });
  it("the same person opening a second app bound to the same Open Platform is signed in at once; the profile lists both apps", async () => {
    // Registered in the first app (its own storage, its own openid), with the person's unionid.
    const unionid = `u${randomBytes(20).toString("base64url").slice(0, 27)}`;
    const firstOpenid = newOpenid();
    const sandboxCall = async (path: string, body: unknown) =>
      (await fetch(stack.sandboxUrl + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then((response) => response.json())) as { code: string };
    const apiCall = async (path: string, body: unknown) =>
      (await fetch(stack.apiUrl + path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then((response) => response.json())) as { registrationTicket: string };
    const { code } = await sandboxCall("/__dev/login-code", {
      appid: SANDBOX_APPID,
      openid: firstOpenid,
      unionid,
    });
    const { registrationTicket } = await apiCall("/api/auth/wechat/login", {
      code,
      appid: SANDBOX_APPID,
    });
    const phone = await sandboxCall("/__dev/phone-code", {
      phoneNumber: "13300133000",
      appid: SANDBOX_APPID,
      openid: firstOpenid,
    });
    await apiCall("/api/auth/wechat/register", { registrationTicket, phoneCode: phone.code });

    // The second app: another openid, the same unionid, nothing stored yet.
    runtime.storage.clear();
    runtime.appid = SANDBOX_SECOND_APPID;
    runtime.openid = newOpenid();
    runtime.unionid = unionid;
    const requestsBefore = runtime.requests.length;
    miniProgram.launch();
    const home = miniProgram.open("pages/home/home");
    await until(() => textOf(home, "#home-phone") === "133****3000", "the signed-in home");
    expect(runtime.requests.slice(requestsBefore)).toEqual(["POST /api/auth/wechat/login 200"]);
    profile = miniProgram.open("pages/me/me");
    await until(() => textOf(profile, "#profile-apps") === "shop、staff", "the linked apps");
  });
});
