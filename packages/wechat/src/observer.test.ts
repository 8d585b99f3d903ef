import { describe, expect, it } from "vitest";
import type { FakeWechat } from "./testing/fake-wechat.js";
import {
  PATHS,
  closedPort,
  hang,
  phoneReply,
  sequence,
  wechatError,
} from "./testing/fake-wechat.js";
import { clientOf, failureOf, freshCode, useFakeWechat } from "./testing/helpers.js";
import type { WechatApiName, WechatObserver } from "./types.js";

let fake: FakeWechat;
useFakeWechat((started) => (fake = started));

/** An observer that records what it is told. */
function recordingObserver() {
  const calls: { api: WechatApiName; outcome: string; seconds: number }[] = [];
  let tokenFetches = 0;
  const observer: WechatObserver = {
    call: (api, outcome, seconds) => calls.push({ api, outcome, seconds }),
    accessTokenFetched: () => (tokenFetches += 1),
  };
  return {
    observer,
    /** `api outcome` of each call, in the order they ended. */
    outcomes: () => calls.map(({ api, outcome }) => `${api} ${outcome}`),
    seconds: () => calls.map(({ seconds }) => seconds),
    tokenFetches: () => tokenFetches,
  };
}

const PHONE = { countryCode: "86", purePhoneNumber: "13800138000" };

describe("the observer", () => {
  it("is told once per public call, with its outcome and duration in seconds", async () => {
    const recorded = recordingObserver();
    const { client } = clientOf(fake, { observer: recorded.observer });
    await client.code2Session(freshCode());
    expect(recorded.outcomes()).toEqual(["jscode2session ok"]);
    const [seconds] = recorded.seconds();
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan(10);
  });

  it("is told WeChat's errcode, whether the code is the user's fault or the deployment's", async () => {
    fake.on(PATHS.jscode2session, sequence([wechatError(40029), wechatError(40164)], hang));
    const recorded = recordingObserver();
    const { client } = clientOf(fake, { observer: recorded.observer });
    await failureOf(client.code2Session(freshCode()));
    await failureOf(client.code2Session(freshCode()));
    expect(recorded.outcomes()).toEqual(["jscode2session 40029", "jscode2session 40164"]);
  });

  it("is told `timeout` when the budget ends the call, and `network` when no connection is made", async () => {
    fake.on(PATHS.jscode2session, hang);
    const recorded = recordingObserver();
    const { client } = clientOf(fake, { observer: recorded.observer, timeoutMs: 200 });
    await failureOf(client.code2Session(freshCode()));
    const port = await closedPort();
    const { client: unreachable } = clientOf(fake, {
      observer: recorded.observer,
      baseUrl: `http://127.0.0.1:${port}`,
      retries: 0,
    });
    await failureOf(unreachable.code2Session(freshCode()));
    expect(recorded.outcomes()).toEqual(["jscode2session timeout", "jscode2session network"]);
  });

  it("counts a token fetched from WeChat, and not a token served from the cache", async () => {
    fake.on(PATHS.phone, phoneReply(PHONE, fake));
    const recorded = recordingObserver();
    const { client } = clientOf(fake, { observer: recorded.observer });
    await client.getPhoneNumber("phone-code-1", "openid-1");
    await client.getPhoneNumber("phone-code-2", "openid-1");
    expect(recorded.tokenFetches()).toBe(1);
    expect(recorded.outcomes()).toEqual([
      "stable_token ok",
      "getuserphonenumber ok",
      "getuserphonenumber ok",
    ]);
  });

  it("tells one phone-number call that needed a second token as one call, and both fetches", async () => {
    const { client: other } = clientOf(fake);
    fake.on(PATHS.phone, phoneReply(PHONE, fake));
    const recorded = recordingObserver();
    const { client } = clientOf(fake, { observer: recorded.observer });
    await client.getPhoneNumber("phone-code-1", "openid-1");
    // WeChat stops accepting the cached token (another process forced a new one).
    fake.validTokens.clear();
    await other.accessTokens.get();
    await client.getPhoneNumber("phone-code-2", "openid-1");
    expect(recorded.tokenFetches()).toBe(2);
    expect(recorded.outcomes()).toEqual([
      "stable_token ok",
      "getuserphonenumber ok",
      "stable_token ok",
      "getuserphonenumber ok",
    ]);
  });

  it("is told a token endpoint's errcode (a caller IP outside the whitelist)", async () => {
    fake.on(PATHS.stableToken, wechatError(40164, "invalid ip"));
    const recorded = recordingObserver();
    const { client } = clientOf(fake, { observer: recorded.observer });
    await failureOf(client.getPhoneNumber("phone-code-1", "openid-1"));
    expect(recorded.tokenFetches()).toBe(0);
    expect(recorded.outcomes()).toEqual(["stable_token 40164", "getuserphonenumber 40164"]);
  });
});
