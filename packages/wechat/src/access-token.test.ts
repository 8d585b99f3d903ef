import { describe, expect, it } from "vitest";
import type { FakeWechat } from "./testing/fake-wechat.js";
import {
  FAKE_APPID,
  FAKE_SECRET,
  PATHS,
  delayed,
  send,
  sequence,
  wechatError,
} from "./testing/fake-wechat.js";
import { clientOf, failureOf, newStore, until, useFakeWechat } from "./testing/helpers.js";

let fake: FakeWechat;
useFakeWechat((started) => (fake = started));

const TOKEN_KEY = `wxauth:wechat:${FAKE_APPID}:access_token`;
const MINUTE = 60_000;

/** Slows token minting so that concurrent callers really overlap with the refresh. */
function slowTokens(ms = 80): void {
  fake.on(
    PATHS.stableToken,
    delayed(ms, (_request, response) =>
      send(response, { access_token: fake.mintToken(), expires_in: 7200 }),
    ),
  );
}

function expectNoForceRefresh(): void {
  for (const request of fake.requests(PATHS.stableToken)) {
    expect(request.body).toEqual({
      grant_type: "client_credential",
      appid: FAKE_APPID,
      secret: FAKE_SECRET,
    });
  }
}

describe("access tokens", () => {
  it("40 concurrent getPhoneNumber calls on a cold client fetch the token once", async () => {
    slowTokens();
    const { client } = clientOf(fake);
    const phones = await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.getPhoneNumber(`phone-code-${i}`, "openid-1")),
    );
    expect(phones.every((phone) => phone.e164 === "+8613800138000")).toBe(true);
    expect(fake.count(PATHS.stableToken)).toBe(1);
    expect(fake.count(PATHS.phone)).toBe(40);
    expectNoForceRefresh();
  });

  it("two clients sharing one store (two processes) fetch the token once in total", async () => {
    slowTokens();
    const store = newStore();
    const first = clientOf(fake, { store }).client;
    const second = clientOf(fake, { store }).client;
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? first : second).getPhoneNumber(`phone-code-${i}`, "openid-1"),
      ),
    );
    expect(fake.count(PATHS.stableToken)).toBe(1);
    expect(await first.accessTokens.get()).toBe(await second.accessTokens.get());
  });

  it("clients with separate stores each fetch their own token (the shared store is what saves the fetch)", async () => {
    slowTokens();
    const first = clientOf(fake).client;
    const second = clientOf(fake).client;
    await Promise.all([first.accessTokens.get(), second.accessTokens.get()]);
    expect(fake.count(PATHS.stableToken)).toBe(2);
  });

  it("waits out a lock left by a dead process, then fetches", async () => {
    const store = newStore();
    await store.setIfAbsent(`${TOKEN_KEY}:lock`, "dead-process", 300);
    const { client } = clientOf(fake, { store });
    const started = performance.now();
    expect(await client.accessTokens.get()).toBe("token-1");
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(fake.count(PATHS.stableToken)).toBe(1);
  });

  it("when the process holding the lock fails, a waiting process fetches the token itself", async () => {
    fake.on(
      PATHS.stableToken,
      sequence([delayed(60, wechatError(-1))], (_request, response) =>
        send(response, { access_token: fake.mintToken(), expires_in: 7200 }),
      ),
    );
    const store = newStore();
    const first = clientOf(fake, { store, retries: 0 }).client;
    const second = clientOf(fake, { store, retries: 0 }).client;
    const firstToken = first.accessTokens.get().catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 20)); // let `first` take the lock
    expect(await second.accessTokens.get()).toBe("token-1");
    expect(await firstToken).toMatchObject({ errcode: -1, retryable: true });
    expect(fake.count(PATHS.stableToken)).toBe(2);
  });

  it("stores the token as JSON { token, expiresAt } under the appid's key", async () => {
    const store = newStore();
    const now = 1_000_000;
    const { client } = clientOf(fake, { store, now: () => now });
    await client.accessTokens.get();
    const stored = JSON.parse((await store.get(TOKEN_KEY)) ?? "null");
    expect(stored).toMatchObject({ token: "token-1", expiresAt: now + 7200_000 });
  });

  it("uses GET /cgi-bin/token when tokenEndpoint is 'token'", async () => {
    const { client } = clientOf(fake, { tokenEndpoint: "token" });
    await client.getPhoneNumber("phone-code", "openid-1");
    expect(fake.count(PATHS.stableToken)).toBe(0);
    const [request] = fake.requests(PATHS.token);
    expect(request?.method).toBe("GET");
    expect(Object.fromEntries(request?.query ?? [])).toEqual({
      grant_type: "client_credential",
      appid: FAKE_APPID,
      secret: FAKE_SECRET,
    });
  });

  it("refreshes ahead of expiry in the background, serving the still-valid token meanwhile", async () => {
    let now = 1_000_000;
    const { client } = clientOf(fake, { now: () => now, tokenRefreshAheadMs: 5 * MINUTE });
    expect(await client.accessTokens.get()).toBe("token-1");

    now += 7200_000 - 6 * MINUTE; // before the refresh-ahead window
    expect(await client.accessTokens.get()).toBe("token-1");
    expect(fake.count(PATHS.stableToken)).toBe(1);

    now += 2 * MINUTE; // 4 minutes left: inside the window
    expect(await client.accessTokens.get()).toBe("token-1");
    await until(() => fake.count(PATHS.stableToken) === 2);
    let latest = "token-1";
    for (let polls = 0; latest === "token-1" && polls < 200; polls++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      latest = await client.accessTokens.get();
    }
    expect(latest).toBe("token-2");
    expect(fake.count(PATHS.stableToken)).toBe(2);
    expectNoForceRefresh();
  });

  it("waits for a new token once the cached one has expired", async () => {
    let now = 1_000_000;
    const { client } = clientOf(fake, { now: () => now });
    expect(await client.accessTokens.get()).toBe("token-1");
    now += 7200_000 + 1;
    expect(await client.accessTokens.get()).toBe("token-2");
  });

  it("does not refresh on every call when WeChat hands out a short-lived token", async () => {
    // stable_token answers with the remaining lifetime (at least 300 s) of the current token.
    fake.tokenLifetimeS = 300;
    let now = 1_000_000;
    const { client } = clientOf(fake, { now: () => now, tokenRefreshAheadMs: 10 * MINUTE });
    await client.accessTokens.get();
    now += MINUTE;
    await client.accessTokens.get();
    await client.accessTokens.get();
    expect(fake.count(PATHS.stableToken)).toBe(1);
  });

  it("retries a transient token failure inside the call that needed the token", async () => {
    fake.on(
      PATHS.stableToken,
      sequence([wechatError(-1, "system error")], (_request, response) =>
        send(response, { access_token: fake.mintToken(), expires_in: 7200 }),
      ),
    );
    const { client } = clientOf(fake);
    expect((await client.getPhoneNumber("phone-code", "openid-1")).e164).toBe("+8613800138000");
    expect(fake.count(PATHS.stableToken)).toBe(2);
  });

  it.each([40125, 40013, 40164, 40001])(
    "a token answer of %i is a config error: not retried, logged at error",
    async (errcode) => {
      fake.on(PATHS.stableToken, wechatError(errcode));
      const { client, logs } = clientOf(fake);
      const error = await failureOf(client.getPhoneNumber("phone-code", "openid-1"));
      expect(error).toMatchObject({
        api: "stable_token",
        kind: "config",
        errcode,
        retryable: false,
      });
      expect(fake.count(PATHS.stableToken)).toBe(1);
      expect(fake.count(PATHS.phone)).toBe(0);
      expect(logs.some((line) => line.level === "error")).toBe(true);
    },
  );
});

describe("rejected access tokens (40001 / 42001 / 40014)", () => {
  it.each([40001, 42001, 40014])(
    "%i invalidates the token and retries once with a fresh one",
    async (errcode) => {
      const { client } = clientOf(fake);
      expect(await client.accessTokens.get()).toBe("token-1");
      fake.on(
        PATHS.phone,
        sequence([wechatError(errcode, "access_token is invalid")], (request, response) =>
          send(response, {
            errcode: 0,
            errmsg: "ok",
            phone_info: {
              phoneNumber: "13800138000",
              purePhoneNumber: "13800138000",
              countryCode: "86",
              watermark: { timestamp: 1, appid: FAKE_APPID },
            },
            token: request.query.get("access_token"),
          }),
        ),
      );
      expect((await client.getPhoneNumber("phone-code", "openid-1")).e164).toBe("+8613800138000");
      expect(fake.requests(PATHS.phone).map((r) => r.query.get("access_token"))).toEqual([
        "token-1",
        "token-2",
      ]);
      expect(fake.count(PATHS.stableToken)).toBe(2);
      expectNoForceRefresh();
    },
  );

  it("retries only once: a second rejection is returned", async () => {
    const { client } = clientOf(fake);
    fake.on(PATHS.phone, wechatError(40001, "invalid credential"));
    const error = await failureOf(client.getPhoneNumber("phone-code", "openid-1"));
    expect(error).toMatchObject({ api: "getuserphonenumber", kind: "wechat", errcode: 40001 });
    expect(fake.count(PATHS.phone)).toBe(2);
    expect(fake.count(PATHS.stableToken)).toBe(2);
  });

  it("40 concurrent calls rejected with 40001 refresh the token once", async () => {
    slowTokens(30);
    const { client } = clientOf(fake);
    await client.accessTokens.get();
    fake.validTokens.delete("token-1");
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.getPhoneNumber(`phone-code-${i}`, "openid-1")),
    );
    expect(fake.count(PATHS.stableToken)).toBe(2);
    expect(fake.count(PATHS.phone)).toBe(80);
  });

  it("a stale invalidation does not drop a newer token", async () => {
    const store = newStore();
    const { client } = clientOf(fake, { store });
    expect(await client.accessTokens.get()).toBe("token-1");
    await client.accessTokens.invalidate("token-1");
    expect(await client.accessTokens.get()).toBe("token-2");

    await client.accessTokens.invalidate("token-1"); // a late caller still holding token-1
    expect(await client.accessTokens.get()).toBe("token-2");
    expect(JSON.parse((await store.get(TOKEN_KEY)) ?? "null")).toMatchObject({ token: "token-2" });
    expect(fake.count(PATHS.stableToken)).toBe(2);
  });

  it("a process notices on its next 40001 that another process replaced the token", async () => {
    const store = newStore();
    const first = clientOf(fake, { store }).client;
    const second = clientOf(fake, { store }).client;
    await first.getPhoneNumber("phone-code-a", "openid-1");
    await second.getPhoneNumber("phone-code-b", "openid-1");
    expect(fake.count(PATHS.stableToken)).toBe(1);

    fake.validTokens.delete("token-1");
    await first.getPhoneNumber("phone-code-c", "openid-1"); // 40001, fetches token-2
    expect(fake.count(PATHS.stableToken)).toBe(2);
    // `second` still caches token-1; its 40001 must pick up token-2 from the store, not fetch.
    await second.getPhoneNumber("phone-code-d", "openid-1");
    expect(fake.count(PATHS.stableToken)).toBe(2);
    expect(fake.requests(PATHS.phone).at(-1)?.query.get("access_token")).toBe("token-2");
  });
});
