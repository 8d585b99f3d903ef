/*
 * What operators do to users, end to end over HTTP: search by every key, bans and their effects
 * on the user's own requests, signing sessions out, spend per Shanghai day, the audit log, and
 * the security events table's retention.
 */
import { ErrorBodySchema, TokenPairSchema } from "@wxauth/contracts";
import {
  AdminUserDetailSchema,
  AdminUserPageSchema,
  AuditPageSchema,
  SpendSchema,
  type AdminUserPage,
} from "@wxauth/contracts/admin";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startHousekeeping } from "../housekeeping.js";
import {
  TEST_SCRYPT_COST,
  startTestApi,
  uniquePhoneNumber,
  type TestApi,
} from "../testing/harness.js";
import { signIn, signedInOperator, type TestOperator } from "../testing/operators.js";

const DAY_MS = 86_400_000;

let api: TestApi;
let admin: TestOperator;
let viewer: TestOperator;
beforeAll(async () => {
  // Every test signs in afresh (below): the sign-in limits are not what this file tests.
  api = await startTestApi({
    overrides: {
      operators: {
        scryptCost: TEST_SCRYPT_COST,
        signInLimits: { perName: 1000, perAddress: 1000, windowMs: 60_000 },
      },
    },
  });
  [admin, viewer] = await Promise.all([
    signedInOperator(api, "admin"),
    signedInOperator(api, "viewer"),
  ]);
});
afterAll(() => api.close());
// Tests move the clock past the operators' 30-minute idle timeout: each starts signed in afresh.
beforeEach(async () => {
  [admin, viewer] = await Promise.all([
    signIn(api, admin.name, admin.password),
    signIn(api, viewer.name, viewer.password),
  ]);
});

async function search(query: string, cursor?: string): Promise<AdminUserPage> {
  const params = new URLSearchParams({ query, ...(cursor ? { cursor } : {}) });
  const result = await viewer.request("GET", `/api/admin/users?${params}`);
  expect(result.status, result.text).toBe(200);
  return AdminUserPageSchema.parse(result.body);
}

const errorCode = (body: unknown) => ErrorBodySchema.parse(body).error.code;

describe("searching users", () => {
  it("finds a user by id, full phone (both ways of writing it), last 4 digits, unionid and openid", async () => {
    const phoneNumber = uniquePhoneNumber();
    const unionid = `union-${phoneNumber}`;
    const registered = await api.register({ phoneNumber, unionid });
    const ids = async (query: string) => (await search(query)).users.map((user) => user.id);
    for (const query of [
      registered.user.id,
      phoneNumber,
      `+86${phoneNumber}`,
      phoneNumber.slice(-4),
      unionid,
      registered.openid,
    ]) {
      expect(await ids(query), query).toContain(registered.user.id);
    }
    expect(await ids("no-such-key")).toEqual([]);
  });

  it("shows phones masked, the user's apps, status and last sign-in", async () => {
    const phoneNumber = uniquePhoneNumber();
    const registered = await api.register({ phoneNumber });
    const [found] = (await search(registered.user.id)).users;
    expect(found).toMatchObject({ id: registered.user.id, status: "active" });
    expect(found!.phone).toMatch(/^\+?\d*\*{4}\d{4}$/);
    expect(found!.phone!.endsWith(phoneNumber.slice(-4))).toBe(true);
    expect(found!.phone).not.toContain(phoneNumber);
    expect(found!.apps.map((app) => app.appid)).toEqual([api.config.wechat.apps[0]!.appid]);
    expect(found!.lastSignInAt).not.toBeNull();
  });

  it("pages 20 at a time, newest first, with a cursor", async () => {
    const digits = String(9000 + (process.pid % 1000)).slice(-4);
    // 23 users whose phones end in the same 4 digits.
    const created: string[] = [];
    for (let index = 0; index < 23; index++) {
      const phoneNumber = `137${String(index).padStart(4, "0")}${digits}`;
      created.push((await api.register({ phoneNumber })).user.id);
      api.clock.advance(10);
    }
    const first = await search(digits);
    expect(first.users).toHaveLength(20);
    expect(first.nextCursor).not.toBeNull();
    const second = await search(digits, first.nextCursor!);
    expect(second.nextCursor).toBeNull();
    const all = [...first.users, ...second.users].map((user) => user.id);
    expect(all).toEqual([...created].reverse());
  });

  it("refuses a cursor it did not give out", async () => {
    const result = await viewer.request("GET", "/api/admin/users?cursor=bogus");
    expect(result.status).toBe(400);
  });
});

describe("a ban", () => {
  it("takes effect at once: Bearer 403 ACCOUNT_DISABLED, refresh and login refused, every session revoked", async () => {
    const registered = await api.register();
    const detailBefore = AdminUserDetailSchema.parse(
      (await viewer.request("GET", `/api/admin/users/${registered.user.id}`)).body,
    );
    expect(detailBefore.sessions).toHaveLength(1);

    const banned = await admin.request("POST", `/api/admin/users/${registered.user.id}/ban`, {
      body: { reason: "spam" },
    });
    expect(banned.status, banned.text).toBe(200);
    expect(banned.body).toMatchObject({ reason: "spam", until: null, by: admin.name });

    const me = await api.request("GET", "/api/me", { token: registered.accessToken });
    expect(me.status).toBe(403);
    expect(errorCode(me.body)).toBe("ACCOUNT_DISABLED");
    const refresh = await api.request("POST", "/api/auth/refresh", {
      body: { refreshToken: registered.refreshToken },
    });
    expect(refresh.status).toBe(403);
    expect(errorCode(refresh.body)).toBe("ACCOUNT_DISABLED");
    const { code } = await api.loginCode({ openid: registered.openid });
    const login = await api.request("POST", "/api/auth/wechat/login", { body: { code } });
    expect(login.status).toBe(403);
    expect(errorCode(login.body)).toBe("ACCOUNT_DISABLED");

    const detail = AdminUserDetailSchema.parse(
      (await viewer.request("GET", `/api/admin/users/${registered.user.id}`)).body,
    );
    expect(detail.sessions).toEqual([]);
    expect(detail.user.status).toBe("banned");
    expect(detail.ban).toMatchObject({ reason: "spam", by: admin.name });
    expect(detail.events.map((event) => event.type)).toContain("account_banned");

    // Lifted: the user signs in again (the old sessions stay revoked).
    expect(
      (await admin.request("DELETE", `/api/admin/users/${registered.user.id}/ban`)).status,
    ).toBe(204);
    expect((await api.request("GET", "/api/me", { token: registered.accessToken })).status).toBe(
      401,
    );
    const again = await api.loginCode({ openid: registered.openid });
    const relogin = await api.request("POST", "/api/auth/wechat/login", {
      body: { code: again.code },
    });
    expect(relogin.status, relogin.text).toBe(200);
  });

  it("with until lifts itself then", async () => {
    const registered = await api.register();
    const until = new Date(api.clock.now() + 3_600_000).toISOString();
    const banned = await admin.request("POST", `/api/admin/users/${registered.user.id}/ban`, {
      body: { reason: "cooling down", until },
    });
    expect(banned.status, banned.text).toBe(200);
    const { code } = await api.loginCode({ openid: registered.openid });
    expect((await api.request("POST", "/api/auth/wechat/login", { body: { code } })).status).toBe(
      403,
    );

    api.clock.advance(3_600_000 + 1000);
    viewer = await signIn(api, viewer.name, viewer.password);
    const later = await api.loginCode({ openid: registered.openid });
    const login = await api.request("POST", "/api/auth/wechat/login", {
      body: { code: later.code },
    });
    expect(login.status, login.text).toBe(200);
    const detail = AdminUserDetailSchema.parse(
      (await viewer.request("GET", `/api/admin/users/${registered.user.id}`)).body,
    );
    expect(detail.ban).toBeNull();
    expect(detail.user.status).toBe("active");
    // Housekeeping clears the ended ban's columns.
    await startHousekeeping(api.deps)();
    expect(await api.deps.data.users.clearBansEndedBefore(new Date(api.clock.now()))).toBe(0);
  });

  it("refuses an until in the past, and an unknown user", async () => {
    const registered = await api.register();
    const past = await admin.request("POST", `/api/admin/users/${registered.user.id}/ban`, {
      body: { reason: "x", until: new Date(api.clock.now() - 1000).toISOString() },
    });
    expect(past.status).toBe(400);
    const unknown = await admin.request("POST", "/api/admin/users/no-such-user/ban", {
      body: { reason: "x" },
    });
    expect(unknown.status).toBe(404);
  });
});

describe("signing a user's sessions out", () => {
  it("revokes one session at once, and all of them", async () => {
    const registered = await api.register();
    const { code } = await api.loginCode({ openid: registered.openid });
    const second = await api.login(code);
    if (second.status !== "authenticated") throw new Error("expected a returning user");
    const detail = AdminUserDetailSchema.parse(
      (await viewer.request("GET", `/api/admin/users/${registered.user.id}`)).body,
    );
    expect(detail.sessions).toHaveLength(2);
    const newest = detail.sessions[0]!;
    const revoked = await admin.request(
      "DELETE",
      `/api/admin/users/${registered.user.id}/sessions/${newest.id}`,
    );
    expect(revoked.status).toBe(204);
    expect((await api.request("GET", "/api/me", { token: second.accessToken })).status).toBe(401);
    expect((await api.request("GET", "/api/me", { token: registered.accessToken })).status).toBe(
      200,
    );

    expect(
      (await admin.request("DELETE", `/api/admin/users/${registered.user.id}/sessions`)).status,
    ).toBe(204);
    expect((await api.request("GET", "/api/me", { token: registered.accessToken })).status).toBe(
      401,
    );
    const unknown = await admin.request(
      "DELETE",
      `/api/admin/users/${registered.user.id}/sessions/${newest.id}-nope`,
    );
    expect(unknown.status).toBe(404);
  });
});

describe("revealing a phone", () => {
  it("gives an admin the full number and audits it, without the number in the audit", async () => {
    const phoneNumber = uniquePhoneNumber();
    const registered = await api.register({ phoneNumber });
    const revealed = await admin.request(
      "POST",
      `/api/admin/users/${registered.user.id}/phone/reveal`,
    );
    expect(revealed.body).toEqual({ phone: `+86${phoneNumber}` });
    const audit = AuditPageSchema.parse((await admin.request("GET", "/api/admin/audit")).body);
    const entry = audit.entries.find((e) => e.target === `user:${registered.user.id}`);
    expect(entry).toMatchObject({ action: "user_phone_revealed", operator: admin.name });
    expect(JSON.stringify(audit)).not.toContain(phoneNumber);
  });
});

describe("the audit log", () => {
  it("lists every operator action: who, what, the target, when and from where, newest first", async () => {
    const registered = await api.register();
    const target = `user:${registered.user.id}`;
    await admin.request("POST", `/api/admin/users/${registered.user.id}/ban`, {
      body: { reason: "abuse" },
    });
    await admin.request("DELETE", `/api/admin/users/${registered.user.id}/ban`);
    const page = AuditPageSchema.parse((await admin.request("GET", "/api/admin/audit")).body);
    const mine = page.entries.filter((entry) => entry.target === target);
    expect(mine.map((entry) => entry.action)).toEqual(["user_unbanned", "user_banned"]);
    for (const entry of mine) {
      expect(entry.operator).toBe(admin.name);
      expect(entry.address).toMatch(/127\.0\.0\.1/);
      expect(Math.abs(Date.parse(entry.at) - api.clock.now())).toBeLessThan(60_000);
    }
    expect(mine[1]!.details).toMatchObject({ reason: "abuse", until: null });
    // The operators' own actions are there too.
    const actions = new Set(page.entries.map((entry) => entry.action));
    expect([...actions]).toEqual(
      expect.arrayContaining(["operator_signed_in", "operator_password_changed"]),
    );
  });
});

describe("spend", () => {
  it("counts phone lookups and accepted SMS per day in Asia/Shanghai, with the prices", async () => {
    const shanghai = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" });
    const today = shanghai.format(api.clock.now());
    const yesterday = shanghai.format(api.clock.now() - DAY_MS);
    const before = SpendSchema.parse((await viewer.request("GET", "/api/admin/spend?days=3")).body);
    const countOn = (spend: typeof before, date: string) =>
      spend.days.find((day) => day.date === date)!;

    // One lookup and one SMS today, through the API.
    await api.register();
    const login = await api.login((await api.loginCode()).code);
    if (login.status !== "registration_required") throw new Error("expected a new user");
    const sms = await api.request("POST", "/api/auth/sms/send", {
      body: { registrationTicket: login.registrationTicket, phone: uniquePhoneNumber() },
    });
    expect(sms.status, sms.text).toBe(200);
    // Two around yesterday's midnight in Shanghai: 23:30 (yesterday) and 00:30 (today), 16:30 UTC.
    const insert = (type: string, at: Date) =>
      api.deps.data.securityEvents.insert({
        type,
        userId: null,
        sessionId: null,
        appid: null,
        requestId: null,
        details: {},
        at,
      });
    await insert("sms_sent", new Date(`${yesterday}T23:30:00+08:00`));
    await insert("sms_sent", new Date(`${today}T00:30:00+08:00`));

    const after = SpendSchema.parse((await viewer.request("GET", "/api/admin/spend?days=3")).body);
    expect(after.days.map((day) => day.date).at(-1)).toBe(today);
    expect(after.days).toHaveLength(3);
    expect(countOn(after, today).phoneLookups - countOn(before, today).phoneLookups).toBe(1);
    expect(countOn(after, today).smsSent - countOn(before, today).smsSent).toBe(2);
    expect(countOn(after, yesterday).smsSent - countOn(before, yesterday).smsSent).toBe(1);
    expect(after.prices).toEqual({ phoneLookupCny: 0.03, smsCny: 0.045 });

    const thirty = SpendSchema.parse((await viewer.request("GET", "/api/admin/spend")).body);
    expect(thirty.days).toHaveLength(30);
    expect((await viewer.request("GET", "/api/admin/spend?days=91")).status).toBe(400);
  });
});

describe("the security_events table", () => {
  it("holds the user's events with ids only, no phone, and keeps them 180 days", async () => {
    const phoneNumber = uniquePhoneNumber();
    const registered = await api.register({ phoneNumber });
    const detail = AdminUserDetailSchema.parse(
      (await viewer.request("GET", `/api/admin/users/${registered.user.id}`)).body,
    );
    expect(detail.events.map((event) => event.type)).toEqual(["register"]);
    expect(detail.events[0]!.appid).toBe(api.config.wechat.apps[0]!.appid);
    const rows = await api.deps.db.selectFrom("security_events").selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(phoneNumber.slice(-8));

    const old = await api.deps.data.securityEvents.listForUser(registered.user.id, 10);
    api.clock.advance(179 * DAY_MS);
    await startHousekeeping(api.deps)();
    expect(await api.deps.data.securityEvents.listForUser(registered.user.id, 10)).toEqual(old);
    api.clock.advance(2 * DAY_MS);
    await startHousekeeping(api.deps)();
    expect(await api.deps.data.securityEvents.listForUser(registered.user.id, 10)).toEqual([]);
  });

  it("lists the scheduled deletions soonest first", async () => {
    const registered = await api.register();
    await api.request("POST", "/api/me/deletion", { token: registered.accessToken });
    const result = await viewer.request("GET", "/api/admin/deletions");
    expect(result.status).toBe(200);
    const { deletions } = result.body as { deletions: { userId: string; scheduledAt: string }[] };
    expect(deletions.map((deletion) => deletion.userId)).toContain(registered.user.id);
    const times = deletions.map((deletion) => Date.parse(deletion.scheduledAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });
});

describe("refresh token of a banned user after the ban ends", () => {
  it("stays revoked: the user signs in again", async () => {
    const registered = await api.register();
    await admin.request("POST", `/api/admin/users/${registered.user.id}/ban`, {
      body: { reason: "x" },
    });
    await admin.request("DELETE", `/api/admin/users/${registered.user.id}/ban`);
    const refresh = await api.request("POST", "/api/auth/refresh", {
      body: { refreshToken: registered.refreshToken },
    });
    expect(refresh.status).toBe(401);
    expect(TokenPairSchema.safeParse(refresh.body).success).toBe(false);
  });
});
