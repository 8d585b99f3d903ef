import {
  DeletionScheduledSchema,
  TokenPairSchema,
  UserSchema,
  WechatLoginResponseSchema,
  type Authenticated,
  type WechatLoginResponse,
} from "@wxauth/contracts";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../db/client.js";
import { reportFigure } from "../testing/figures.js";
import { solidPng } from "../testing/png.js";
import {
  expectErrorBody,
  startTestApi,
  uniquePhoneNumber,
  type TestApi,
} from "../testing/harness.js";

const DAY_MS = 86_400_000;

/** Every row of every table, as text: what "nothing of the person is left" is checked against. */
async function everyRow(db: Database): Promise<Map<string, string>> {
  const dump = new Map<string, string>();
  for (const { name } of await db.introspection.getTables()) {
    if (name === "_prisma_migrations") continue;
    // Every table, including any the schema adds later: their names are not known here.
    const { rows } = await sql<Record<string, unknown>>`SELECT * FROM ${sql.table(name)}`.execute(
      db,
    );
    // A purged account's security events stay (180 days) with its id and nothing else of it:
    // user_id is the one column allowed to name it.
    const kept = name === "security_events" ? rows.map(({ user_id: _id, ...row }) => row) : rows;
    dump.set(name, JSON.stringify(kept));
  }
  expect([...dump.keys()]).toEqual(
    expect.arrayContaining(["users", "sessions", "refresh_tokens", "avatars", "security_events"]),
  );
  return dump;
}

/** The tables that still hold any of `needles`, with the needle found. */
async function tablesHolding(db: Database, needles: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const [table, rows] of await everyRow(db)) {
    for (const needle of needles) if (rows.includes(needle)) found.push(`${table}: ${needle}`);
  }
  return found;
}

function eventsOf(api: TestApi, userId: string): string[] {
  return api.logs
    .map((line) => JSON.parse(line) as { event?: string; userId?: string })
    .filter((line) => line.userId === userId && line.event !== undefined)
    .map((line) => line.event!);
}

async function loginAs(api: TestApi, openid: string): Promise<WechatLoginResponse> {
  const { code } = await api.loginCode({ openid });
  const result = await api.request("POST", "/api/auth/wechat/login", {
    body: { code, device: { model: "iPhone 15" } },
  });
  expect(result.status, result.text).toBe(200);
  return WechatLoginResponseSchema.parse(result.body);
}

async function signInAgain(api: TestApi, openid: string): Promise<Authenticated> {
  const answer = await loginAs(api, openid);
  if (answer.status !== "authenticated") throw new Error("expected a returning user");
  return answer;
}

const requestDeletion = (api: TestApi, token: string) =>
  api.request("POST", "/api/me/deletion", { token });
const meStatus = async (api: TestApi, token: string) =>
  (await api.request("GET", "/api/me", { token })).status;

describe("account deletion with a cooling-off period (the default, 7 days)", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ captureLogs: true });
  });
  afterAll(() => api.close());

  it("schedules the deletion 7 days on and signs every session out at once", async () => {
    const registered = await api.register();
    const other = await signInAgain(api, registered.openid);
    const before = api.clock.now();

    const result = await requestDeletion(api, registered.accessToken);
    expect(result.status, result.text).toBe(202);
    const { deletionScheduledAt } = DeletionScheduledSchema.parse(result.body);
    const dueInMs = Date.parse(deletionScheduledAt) - before;
    expect(dueInMs).toBeGreaterThanOrEqual(7 * DAY_MS);
    expect(dueInMs).toBeLessThan(7 * DAY_MS + 60_000);

    for (const session of [registered, other]) {
      expect(await meStatus(api, session.accessToken)).toBe(401);
      const refresh = await api.request("POST", "/api/auth/refresh", {
        body: { refreshToken: session.refreshToken },
      });
      expectErrorBody(refresh, "REFRESH_TOKEN_INVALID");
    }
  });

  it("lets the user sign in during the cooling-off period, tells them when, and cancels", async () => {
    const registered = await api.register();
    const scheduled = DeletionScheduledSchema.parse(
      (await requestDeletion(api, registered.accessToken)).body,
    );

    api.clock.advance(DAY_MS);
    const back = await signInAgain(api, registered.openid);
    expect(back.user.id).toBe(registered.user.id);
    expect(back.user.deletionScheduledAt).toBe(scheduled.deletionScheduledAt);
    const me = await api.request("GET", "/api/me", { token: back.accessToken });
    expect(UserSchema.parse(me.body).deletionScheduledAt).toBe(scheduled.deletionScheduledAt);

    const cancelled = await api.request("DELETE", "/api/me/deletion", { token: back.accessToken });
    expect(cancelled.status).toBe(200);
    expect(UserSchema.parse(cancelled.body)).toEqual({ ...back.user, deletionScheduledAt: null });

    // Long after the date it would have been due, the account is still there.
    api.clock.advance(8 * DAY_MS);
    await api.deps.accountDeletion.purgeDue();
    const fresh = await signInAgain(api, registered.openid);
    expect(fresh.user).toEqual({ ...back.user, deletionScheduledAt: null });
    expect(eventsOf(api, registered.user.id)).toEqual([
      "register",
      "deletion_requested",
      "login",
      "deletion_cancelled",
      "login",
    ]);
  });

  it("keeps the first date when the deletion is asked for again, and cancelling twice is harmless", async () => {
    const registered = await api.register();
    const first = DeletionScheduledSchema.parse(
      (await requestDeletion(api, registered.accessToken)).body,
    );
    api.clock.advance(DAY_MS);
    const back = await signInAgain(api, registered.openid);
    const second = DeletionScheduledSchema.parse(
      (await requestDeletion(api, back.accessToken)).body,
    );
    expect(second).toEqual(first);

    const again = await signInAgain(api, registered.openid);
    for (let i = 0; i < 2; i++) {
      const cancelled = await api.request("DELETE", "/api/me/deletion", {
        token: again.accessToken,
      });
      expect(UserSchema.parse(cancelled.body).deletionScheduledAt).toBeNull();
    }
  });

  it("purges everything of the person once it is due; the same WeChat user and phone register again as a new account", async () => {
    const phoneNumber = uniquePhoneNumber();
    const unionid = `union-${registeredSuffix()}`;
    const registered = await api.register({ phoneNumber, unionid });
    const nickname = `删除测试${registeredSuffix()}`;
    await api.request("PATCH", "/api/me", { token: registered.accessToken, body: { nickname } });
    const form = new FormData();
    form.append("file", new Blob([solidPng(8, 8, [200, 10, 10])]), "avatar.png");
    const uploaded = await fetch(`${api.url}/api/me/avatar`, {
      method: "POST",
      headers: { authorization: `Bearer ${registered.accessToken}` },
      body: form,
    });
    const { avatarUrl } = UserSchema.parse(await uploaded.json());
    const avatarId = avatarUrl!.split("/").at(-1)!;
    const again = await signInAgain(api, registered.openid);
    // The openid is also in the session_key record and in the ticket it registered with.
    const { openid } = registered;
    await api.request("POST", "/api/me/deletion", { token: again.accessToken });
    const person = [registered.user.id, openid, unionid, `+86${phoneNumber}`, nickname, avatarId];
    expect(await tablesHolding(api.deps.db, person)).not.toEqual([]);

    // Not yet due: nothing happens.
    api.clock.advance(7 * DAY_MS - 60_000);
    await api.deps.accountDeletion.purgeDue();
    expect(await tablesHolding(api.deps.db, [registered.user.id])).not.toEqual([]);

    api.clock.advance(120_000);
    expect(await api.deps.accountDeletion.purgeDue()).toBeGreaterThanOrEqual(1);
    expect(await tablesHolding(api.deps.db, person)).toEqual([]);
    expect((await fetch(avatarUrl!)).status).toBe(404);
    expect(eventsOf(api, registered.user.id).at(-1)).toBe("account_deleted");
    const deletedLine = api.logs.find((line) => line.includes('"account_deleted"'))!;
    for (const personal of person.slice(1)) expect(deletedLine).not.toContain(personal);

    const reborn = await api.register({ openid, unionid, phoneNumber });
    expect(reborn.user.id).not.toBe(registered.user.id);
    expect(reborn.user).toMatchObject({
      phone: `+86${phoneNumber}`,
      nickname: null,
      avatarUrl: null,
      deletionScheduledAt: null,
    });
  });

  it("purges each due account once when several instances purge at the same time", async () => {
    const accounts = await Promise.all([api.register(), api.register(), api.register()]);
    for (const account of accounts) await requestDeletion(api, account.accessToken);
    api.clock.advance(7 * DAY_MS + 60_000);
    const purged = await Promise.all([
      api.deps.accountDeletion.purgeDue(),
      api.deps.accountDeletion.purgeDue(),
      api.deps.accountDeletion.purgeDue(),
    ]);
    const total = purged.reduce((sum, count) => sum + count, 0);
    expect(total).toBeGreaterThanOrEqual(accounts.length);
    for (const account of accounts) {
      expect(eventsOf(api, account.user.id).filter((e) => e === "account_deleted")).toHaveLength(1);
      expect(await tablesHolding(api.deps.db, [account.user.id])).toEqual([]);
    }
  });
});

let suffix = 0;
function registeredSuffix(): string {
  suffix += 1;
  return `${process.pid}-${suffix}`;
}

describe("immediate deletion (ACCOUNT_DELETION_COOLING_OFF_S=0)", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ captureLogs: true, env: { ACCOUNT_DELETION_COOLING_OFF_S: "0" } });
  });
  afterAll(() => api.close());

  it("deletes the account at once: its tokens are refused and the WeChat user is new again", async () => {
    const phoneNumber = uniquePhoneNumber();
    const registered = await api.register({ phoneNumber });
    const before = api.clock.now();
    const result = await requestDeletion(api, registered.accessToken);
    expect(result.status).toBe(202);
    const { deletionScheduledAt } = DeletionScheduledSchema.parse(result.body);
    expect(Math.abs(Date.parse(deletionScheduledAt) - before)).toBeLessThan(60_000);

    expect(
      await tablesHolding(api.deps.db, [registered.user.id, registered.openid, phoneNumber]),
    ).toEqual([]);
    expect(await meStatus(api, registered.accessToken)).toBe(401);
    expect((await loginAs(api, registered.openid)).status).toBe("registration_required");
    expect(eventsOf(api, registered.user.id)).toEqual([
      "register",
      "deletion_requested",
      "account_deleted",
    ]);
  });

  it("a deletion and a login at the same time leave no session of the deleted account", async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < 12; round++) {
      const registered = await api.register();
      const [deletion, login] = await Promise.all([
        requestDeletion(api, registered.accessToken),
        loginAs(api, registered.openid),
      ]);
      expect(deletion.status, deletion.text).toBe(202);
      if (login.status === "authenticated") {
        // The login came first; the deletion then took its session with the rest.
        expect(login.user.id).toBe(registered.user.id);
        expect(await meStatus(api, login.accessToken)).toBe(401);
        const refresh = await api.request("POST", "/api/auth/refresh", {
          body: { refreshToken: login.refreshToken },
        });
        expectErrorBody(refresh, "REFRESH_TOKEN_INVALID");
      }
      outcomes.add(login.status);
      expect(await tablesHolding(api.deps.db, [registered.user.id])).toEqual([]);
    }
    reportFigure("a deletion racing a login: the login's outcomes", [...outcomes]);
  });

  it("a purge and a login at the same time leave no session of the deleted account", async () => {
    // The housekeeping purge, racing a sign-in that started before the account was gone.
    for (let round = 0; round < 12; round++) {
      const registered = await api.register();
      await api.deps.db
        .updateTable("users")
        .set({ deletion_scheduled_at: new Date(api.clock.now() - 1000) })
        .where("id", "=", registered.user.id)
        .execute();
      const [, login] = await Promise.all([
        api.deps.accountDeletion.purgeDue(),
        loginAs(api, registered.openid),
      ]);
      if (login.status === "authenticated") {
        expect(await meStatus(api, login.accessToken)).toBe(401);
      }
      expect(await tablesHolding(api.deps.db, [registered.user.id])).toEqual([]);
    }
  });
});

it("refreshes a session whose account was deleted with REFRESH_TOKEN_INVALID", async () => {
  const api = await startTestApi({ env: { ACCOUNT_DELETION_COOLING_OFF_S: "0" } });
  try {
    const registered = await api.register();
    const pair = TokenPairSchema.parse(
      (
        await api.request("POST", "/api/auth/refresh", {
          body: { refreshToken: registered.refreshToken },
        })
      ).body,
    );
    await requestDeletion(api, pair.accessToken);
    const refresh = await api.request("POST", "/api/auth/refresh", {
      body: { refreshToken: pair.refreshToken },
    });
    expectErrorBody(refresh, "REFRESH_TOKEN_INVALID");
  } finally {
    await api.close();
  }
});
