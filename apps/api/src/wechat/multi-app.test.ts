/*
 * One account across several mini programs: the sandbox's two apps bound to one Open Platform
 * account (one unionid per person) and a third, unbound app (no unionid), served by one API.
 */
import { randomUUID } from "node:crypto";
import {
  AuthenticatedSchema,
  MeSchema,
  SessionListSchema,
  type Authenticated,
} from "@wxauth/contracts";
import {
  SANDBOX_APPID,
  SANDBOX_SECOND_APPID,
  SANDBOX_SECOND_SECRET,
  SANDBOX_SECRET,
} from "@wxauth/contracts/sandbox";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectErrorBody,
  startTestApi,
  uniquePhoneNumber,
  type TestApi,
} from "../testing/harness.js";

const SHOP = SANDBOX_APPID;
const STAFF = SANDBOX_SECOND_APPID;
/** An app not bound to the Open Platform account: WeChat returns no unionid for it. */
const SOLO = "wxsandboxunbound0003";
const SOLO_SECRET = "sandbox-secret-unbound-000000003";

const sandboxApps = [
  { appid: SHOP, secret: SANDBOX_SECRET },
  { appid: STAFF, secret: SANDBOX_SECOND_SECRET },
  { appid: SOLO, secret: SOLO_SECRET, unionBound: false },
];
const WECHAT_APPS = JSON.stringify([
  { appid: SHOP, secret: SANDBOX_SECRET, name: "shop" },
  { appid: STAFF, secret: SANDBOX_SECOND_SECRET, name: "staff" },
  { appid: SOLO, secret: SOLO_SECRET, name: "solo" },
]);

/** A person no other test uses: the sandbox gives them one openid per app, one unionid. */
const newPerson = () => `person-${randomUUID()}`;

function securityEvents(api: TestApi, event: string): Array<Record<string, unknown>> {
  return api.logs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.event === event);
}

async function loginAs(api: TestApi, appid: string, person: string) {
  const { code } = await api.loginCode({ appid, person });
  return api.login(code, appid);
}

async function signInAs(api: TestApi, appid: string, person: string) {
  return AuthenticatedSchema.parse(await loginAs(api, appid, person));
}

async function me(api: TestApi, session: Authenticated) {
  const result = await api.request("GET", "/api/me", { token: session.accessToken });
  expect(result.status, result.text).toBe(200);
  return { me: MeSchema.parse(result.body), text: result.text };
}

describe("several mini programs, phone registration", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { WECHAT_APPS }, sandboxApps, captureLogs: true });
  });
  afterAll(() => api.close());

  it("two bound apps: registered in one, a login from the other is the same user, no phone asked, two identities listed", async () => {
    const person = newPerson();
    const registered = await api.register({ appid: SHOP, person });
    const before = (await api.stats()).calls;

    const fromStaff = await signInAs(api, STAFF, person);
    expect(fromStaff.user.id).toBe(registered.user.id);
    const after = (await api.stats()).calls;
    expect(after.getuserphonenumber - before.getuserphonenumber).toBe(0);
    expect(after.jscode2session - before.jscode2session).toBe(1);

    const linked = securityEvents(api, "identity_linked").filter(
      (entry) => entry.userId === registered.user.id,
    );
    expect(linked).toHaveLength(1);
    expect(linked[0]).toMatchObject({ appid: STAFF, requestId: expect.any(String) });

    const { me: profile, text } = await me(api, fromStaff);
    expect(profile.identities).toEqual([
      { appid: SHOP, name: "shop", createdAt: expect.any(String) },
      { appid: STAFF, name: "staff", createdAt: expect.any(String) },
    ]);
    // Never an openid or the unionid.
    const shopCode = await api.loginCode({ appid: SHOP, person });
    const staffCode = await api.loginCode({ appid: STAFF, person });
    for (const secret of [shopCode.openid, staffCode.openid, staffCode.unionid]) {
      expect(secret).toBeTruthy();
      expect(text).not.toContain(secret);
    }

    // Each access token names the app it signed in through; the sessions list says which.
    expect(jwt.decode(registered.accessToken)).toMatchObject({ azp: SHOP });
    expect(jwt.decode(fromStaff.accessToken)).toMatchObject({ azp: STAFF });
    const sessions = await api.request("GET", "/api/me/sessions", { token: fromStaff.accessToken });
    expect(
      SessionListSchema.parse(sessions.body)
        .sessions.map(({ app, current }) => ({ app, current }))
        .reverse(),
    ).toEqual([
      { app: { appid: SHOP, name: "shop" }, current: false },
      { app: { appid: STAFF, name: "staff" }, current: true },
    ]);
    // A refreshed token still names its session's app.
    const refreshed = await api.request("POST", "/api/auth/refresh", {
      body: { refreshToken: fromStaff.refreshToken },
    });
    expect(jwt.decode((refreshed.body as { accessToken: string }).accessToken)).toMatchObject({
      azp: STAFF,
    });

    // Later logins from either app find the identity directly: nothing more is linked.
    expect((await signInAs(api, STAFF, person)).user.id).toBe(registered.user.id);
    expect((await signInAs(api, SHOP, person)).user.id).toBe(registered.user.id);
    expect(
      securityEvents(api, "identity_linked").filter((e) => e.userId === registered.user.id),
    ).toHaveLength(1);
  });

  it("an unbound app: the same person is a new user, and the same phone gets 409", async () => {
    const person = newPerson();
    const phoneNumber = uniquePhoneNumber();
    const registered = await api.register({ appid: SHOP, person, phoneNumber });

    const { code, openid } = await api.loginCode({ appid: SOLO, person });
    const answer = await api.login(code, SOLO);
    expect(answer.status).toBe("registration_required");
    if (answer.status !== "registration_required") return;
    const taken = await api.request("POST", "/api/auth/wechat/register", {
      body: {
        registrationTicket: answer.registrationTicket,
        phoneCode: await api.phoneCode(phoneNumber, openid, undefined, SOLO),
      },
    });
    expectErrorBody(taken, "PHONE_ALREADY_BOUND");
    expect(taken.status).toBe(409);

    const other = await api.request("POST", "/api/auth/wechat/register", {
      body: {
        registrationTicket: answer.registrationTicket,
        phoneCode: await api.phoneCode(uniquePhoneNumber(), openid, undefined, SOLO),
      },
    });
    expect(other.status, other.text).toBe(201);
    const solo = AuthenticatedSchema.parse(other.body);
    expect(solo.user.id).not.toBe(registered.user.id);
    expect((await me(api, solo)).me.identities).toEqual([
      { appid: SOLO, name: "solo", createdAt: expect.any(String) },
    ]);
  });

  it("a unionid WeChat returns on a later login is stored, and then links the other apps", async () => {
    // Registered while the app was not yet bound: no unionid.
    const openid = `o-${randomUUID()}`;
    const registered = await api.register({ appid: SHOP, openid });
    expect((await api.deps.data.users.findById(registered.user.id))?.unionid).toBeNull();

    // The app is bound since: the same openid now comes with a unionid.
    const unionid = `u-${randomUUID()}`;
    const { code } = await api.loginCode({ appid: SHOP, openid, unionid });
    expect(AuthenticatedSchema.parse(await api.login(code, SHOP)).user.id).toBe(registered.user.id);
    expect((await api.deps.data.users.findById(registered.user.id))?.unionid).toBe(unionid);

    // So the same person opening the other bound app is recognised.
    const { code: fromStaff } = await api.loginCode({
      appid: STAFF,
      openid: `o-${randomUUID()}`,
      unionid,
    });
    expect(AuthenticatedSchema.parse(await api.login(fromStaff, STAFF)).user.id).toBe(
      registered.user.id,
    );
  });

  it("a unionid another account already holds is not backfilled: the accounts stay apart", async () => {
    const person = newPerson();
    const holder = await api.register({ appid: STAFF, person });
    const unionid = (await api.loginCode({ appid: STAFF, person })).unionid!;
    const openid = `o-${randomUUID()}`;
    const other = await api.register({ appid: SHOP, openid });
    const { code } = await api.loginCode({ appid: SHOP, openid, unionid });
    expect(AuthenticatedSchema.parse(await api.login(code, SHOP)).user.id).toBe(other.user.id);
    expect((await api.deps.data.users.findById(other.user.id))?.unionid).toBeNull();
    expect((await api.deps.data.users.findById(holder.user.id))?.unionid).toBe(unionid);
  });

  it("a registration redeems its phone code with the app that issued the ticket", async () => {
    const person = newPerson();
    const { code, openid } = await api.loginCode({ appid: STAFF, person });
    const answer = await api.login(code, STAFF);
    if (answer.status !== "registration_required") throw new Error(answer.status);
    // A phone code of another app: that app's token would redeem it, the ticket's app's cannot.
    const shopOpenid = (await api.loginCode({ appid: SHOP, person })).openid;
    const foreign = await api.request("POST", "/api/auth/wechat/register", {
      body: {
        registrationTicket: answer.registrationTicket,
        phoneCode: await api.phoneCode(uniquePhoneNumber(), shopOpenid, undefined, SHOP),
      },
    });
    expectErrorBody(foreign, "WECHAT_CODE_INVALID");
    const own = await api.request("POST", "/api/auth/wechat/register", {
      body: {
        registrationTicket: answer.registrationTicket,
        phoneCode: await api.phoneCode(uniquePhoneNumber(), openid, undefined, STAFF),
      },
    });
    expect(own.status, own.text).toBe(201);
    const session = AuthenticatedSchema.parse(own.body);
    expect((await me(api, session)).me.identities.map((i) => i.appid)).toEqual([STAFF]);

    // Changing the phone with a phone code goes through the session's app too.
    const changed = await api.request("POST", "/api/me/phone", {
      token: session.accessToken,
      body: { phoneCode: await api.phoneCode(uniquePhoneNumber(), openid, undefined, STAFF) },
    });
    expect(changed.status, changed.text).toBe(200);
  });

  it("an appid that is not configured gets 400 WECHAT_APP_UNKNOWN, and so does none when several are", async () => {
    const before = (await api.stats()).calls.jscode2session;
    const { code } = await api.loginCode({ appid: SHOP, person: newPerson() });
    const unknown = await api.request("POST", "/api/auth/wechat/login", {
      body: { code, appid: "wx0000000000000000" },
    });
    expect(unknown.status).toBe(400);
    expectErrorBody(unknown, "WECHAT_APP_UNKNOWN");
    const unnamed = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
    expect(unnamed.status).toBe(400);
    expectErrorBody(unnamed, "WECHAT_APP_UNKNOWN");
    // Refused before WeChat is asked: the code still works from its app.
    expect((await api.stats()).calls.jscode2session).toBe(before);
    expect((await api.login(code, SHOP)).status).toBe("registration_required");
  });

  it("counts logins, registrations and WeChat calls under each app's name", async () => {
    const count = async (
      metric: { get(): Promise<{ values: Array<{ labels: object; value: number }> }> },
      labels: Record<string, string>,
    ) =>
      (await metric.get()).values
        .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as never)[k] === l))
        .reduce((sum, v) => sum + v.value, 0);
    const { metrics } = api.deps;
    const person = newPerson();
    const staffBefore = await count(metrics.logins, { app: "staff", result: "authenticated" });
    const registrationsBefore = await count(metrics.registrations, { app: "solo" });
    const soloCallsBefore = await count(metrics.wechatCalls, {
      app: "solo",
      api: "jscode2session",
    });
    await api.register({ appid: SOLO, person });
    await api.register({ appid: SHOP, person });
    await signInAs(api, STAFF, person);
    expect(await count(metrics.logins, { app: "staff", result: "authenticated" })).toBe(
      staffBefore + 1,
    );
    expect(await count(metrics.registrations, { app: "solo" })).toBe(registrationsBefore + 1);
    expect(await count(metrics.wechatCalls, { app: "solo", api: "jscode2session" })).toBe(
      soloCallsBefore + 1,
    );
    expect(
      await count(metrics.phoneNumberLookups, { app: "solo", result: "success" }),
    ).toBeGreaterThan(0);
  });

  it("the account's deletion removes every identity: the person is new in every app", async () => {
    const person = newPerson();
    const registered = await api.register({ appid: SHOP, person });
    await signInAs(api, STAFF, person);
    const requested = await api.request("POST", "/api/me/deletion", {
      token: registered.accessToken,
    });
    expect(requested.status, requested.text).toBe(202);
    api.clock.advance((api.config.accountDeletionCoolingOffS + 1) * 1000);
    await api.deps.accountDeletion.purgeDue();
    expect(await api.deps.data.wechatIdentities.listForUser(registered.user.id)).toEqual([]);
    for (const appid of [SHOP, STAFF]) {
      expect((await loginAs(api, appid, person)).status).toBe("registration_required");
    }
  });
});

describe("several mini programs, auto registration", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ env: { WECHAT_APPS, REGISTRATION_MODE: "auto" }, sandboxApps });
  });
  afterAll(() => api.close());

  it("the first login creates the account; the other bound app joins it, an unbound app gets its own", async () => {
    const person = newPerson();
    const first = await signInAs(api, SHOP, person);
    expect((await signInAs(api, STAFF, person)).user.id).toBe(first.user.id);
    // Concurrent first logins from an app not yet linked still end in one identity.
    const other = newPerson();
    const created = await signInAs(api, SHOP, other);
    const racing = await Promise.all([1, 2, 3].map(() => signInAs(api, STAFF, other)));
    expect(new Set(racing.map((s) => s.user.id))).toEqual(new Set([created.user.id]));
    expect(await api.deps.data.wechatIdentities.listForUser(created.user.id)).toHaveLength(2);
    expect((await signInAs(api, SOLO, person)).user.id).not.toBe(first.user.id);
  });
});

describe("one mini program", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it("a login may leave out the appid, or name the one app; another appid gets 400", async () => {
    const registered = await api.register();
    const { code } = await api.loginCode({ openid: registered.openid });
    expect((await api.login(code)).status).toBe("authenticated");
    const again = await api.loginCode({ openid: registered.openid });
    expect((await api.login(again.code, SANDBOX_APPID)).status).toBe("authenticated");
    const other = await api.request("POST", "/api/auth/wechat/login", {
      body: { code: (await api.loginCode()).code, appid: SANDBOX_SECOND_APPID },
    });
    expectErrorBody(other, "WECHAT_APP_UNKNOWN");
  });
});
