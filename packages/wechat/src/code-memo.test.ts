import { describe, expect, it } from "vitest";
import { CallBudget } from "./budget.js";
import { CodeMemo } from "./code-memo.js";
import { MemoryStore } from "./memory-store.js";
import type { SharedStore } from "./types.js";
import type { FakeWechat } from "./testing/fake-wechat.js";
import {
  FAKE_APPID,
  PATHS,
  delayed,
  hang,
  sequence,
  code2SessionReply,
  wechatError,
} from "./testing/fake-wechat.js";
import { clientOf, failureOf, newStore, useFakeWechat } from "./testing/helpers.js";

let fake: FakeWechat;
useFakeWechat((started) => (fake = started));

/** A store remembering every value written to it. */
class RecordingStore extends MemoryStore {
  readonly written: { key: string; value: string }[] = [];
  override async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.written.push({ key, value });
    return super.set(key, value, ttlMs);
  }
  override async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    this.written.push({ key, value });
    return super.setIfAbsent(key, value, ttlMs);
  }
}

/** A memo over `store` alone, without a client around it. */
const memoOver = (store: SharedStore) =>
  new CodeMemo({
    appid: FAKE_APPID,
    store,
    ttlMs: 60_000,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  });

describe("code-exchange memo", () => {
  it("sends a code submitted 10 times at once to WeChat once; every caller gets the same result", async () => {
    fake.on(PATHS.jscode2session, delayed(50, code2SessionReply("openid-a")));
    const { client } = clientOf(fake);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => client.code2Session("double-submitted")),
    );
    expect(fake.count(PATHS.jscode2session)).toBe(1);
    for (const result of results) {
      expect(result).toEqual({
        openid: "openid-a",
        unionid: null,
        sessionKey: "session-key-openid-a",
      });
    }
  });

  it("answers a code submitted again later from the memo", async () => {
    const { client } = clientOf(fake);
    const first = await client.code2Session("resubmitted");
    expect(await client.code2Session("resubmitted")).toEqual(first);
    expect(fake.count(PATHS.jscode2session)).toBe(1);
  });

  it("two processes sharing a store send a double-submitted code to WeChat once", async () => {
    fake.on(PATHS.jscode2session, delayed(80, code2SessionReply("openid-b")));
    const store = newStore();
    const first = clientOf(fake, { store }).client;
    const second = clientOf(fake, { store }).client;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? first : second).code2Session("shared-code")),
    );
    expect(fake.count(PATHS.jscode2session)).toBe(1);
    expect(new Set(results.map((result) => result.sessionKey))).toEqual(
      new Set(["session-key-openid-b"]),
    );
  });

  it.each([40029, 40163, 40226])("remembers the definitive error %i", async (errcode) => {
    fake.on(PATHS.jscode2session, wechatError(errcode));
    const { client } = clientOf(fake);
    const first = await failureOf(client.code2Session("bad-code"));
    const again = await failureOf(client.code2Session("bad-code"));
    expect(again).toMatchObject({
      api: "jscode2session",
      kind: "wechat",
      errcode,
      errmsg: first.errmsg,
      rid: first.rid,
      retryable: false,
    });
    expect(fake.count(PATHS.jscode2session)).toBe(1);
  });

  it.each([
    ["errcode -1", wechatError(-1, "system error")],
    ["45011", wechatError(45011, "rate limited")],
    ["a configuration error", wechatError(40125, "invalid appsecret")],
  ])("does not remember %s: the retry reaches WeChat", async (_name, failure) => {
    fake.on(PATHS.jscode2session, sequence([failure], code2SessionReply("openid-c")));
    const { client } = clientOf(fake, { retries: 0 });
    await failureOf(client.code2Session("flaky-code"));
    expect((await client.code2Session("flaky-code")).openid).toBe("openid-c");
    expect(fake.count(PATHS.jscode2session)).toBe(2);
  });

  it("does not remember a timeout", async () => {
    fake.on(PATHS.jscode2session, sequence([hang], code2SessionReply("openid-d")));
    const { client } = clientOf(fake, { timeoutMs: 200 });
    expect((await failureOf(client.code2Session("slow-code"))).kind).toBe("timeout");
    expect((await client.code2Session("slow-code")).openid).toBe("openid-d");
  });

  it("when the process holding the claim fails transiently, a waiting process asks WeChat itself", async () => {
    fake.on(
      PATHS.jscode2session,
      sequence([delayed(60, wechatError(-1))], delayed(20, code2SessionReply("openid-e"))),
    );
    const store = newStore();
    const first = clientOf(fake, { store, retries: 0 }).client;
    const second = clientOf(fake, { store, retries: 0 }).client;
    const firstResult = first.code2Session("contended").catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 20)); // let `first` claim the code
    const secondResult = await second.code2Session("contended");
    expect(await firstResult).toMatchObject({ errcode: -1, retryable: true });
    expect(secondResult.openid).toBe("openid-e");
    expect(fake.count(PATHS.jscode2session)).toBe(2);
  });

  it("forgets a code after codeMemoTtlMs", async () => {
    const { client } = clientOf(fake, { codeMemoTtlMs: 100 });
    await client.code2Session("short-lived");
    await new Promise((resolve) => setTimeout(resolve, 150));
    await client.code2Session("short-lived");
    expect(fake.count(PATHS.jscode2session)).toBe(2);
  });

  it("never stores the code or a readable session_key, openid or unionid", async () => {
    const store = new RecordingStore();
    const { client } = clientOf(fake, { store });
    const result = await client.code2Session("the-secret-code");
    await failureOf(
      (() => {
        fake.on(PATHS.jscode2session, wechatError(40163));
        return client.code2Session("another-secret-code");
      })(),
    );
    expect(store.written.length).toBeGreaterThanOrEqual(4);
    const everything = JSON.stringify(store.written);
    for (const secret of [
      "the-secret-code",
      "another-secret-code",
      result.sessionKey,
      result.openid,
      result.unionid ?? "unionid",
    ]) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(Buffer.from(secret).toString("base64"));
    }
  });

  it("an entry can only be opened with its own code", async () => {
    const store = new RecordingStore();
    const memo = memoOver(store);
    const budget = new CallBudget("jscode2session", 1000);
    const result = { openid: "o", unionid: null, sessionKey: "k" };
    await memo.exchange("code-one", budget, async () => result);
    // Move code-one's sealed entry under code-two's key: code-two cannot open it.
    const sealed = await store.get(memo.keyFor("code-one"));
    await store.set(memo.keyFor("code-two"), sealed ?? "", 60_000);
    const error = await failureOf(
      memo.exchange("code-two", budget, async () => ({ ...result, openid: "other" })),
    );
    expect(error).toMatchObject({ kind: "parse", retryable: false });
  });

  it("never trusts an unsealed entry in the store", async () => {
    const store = new RecordingStore();
    const memo = memoOver(store);
    const forged = { ok: true, result: { openid: "victim", unionid: null, sessionKey: "k" } };
    await store.set(memo.keyFor("planted"), `plain:${JSON.stringify(forged)}`, 60_000);
    const budget = new CallBudget("jscode2session", 1000);
    const error = await failureOf(memo.exchange("planted", budget, async () => forged.result));
    expect(error).toMatchObject({ kind: "parse", retryable: false });
  });
});
