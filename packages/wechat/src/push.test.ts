import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  PUSH_MAX_AGE_S,
  WechatPush,
  WechatPushError,
  aesKeyOf,
  decryptPushMessage,
  encryptPushMessage,
  parsePushEvent,
  pushSignature,
} from "./push.js";

/*
 * Known answers, computed outside this module:
 * - the GET check and the plaintext POST are WeChat's own examples (Token "AAAAA") from the message
 *   push and message encryption documents;
 * - the safe-mode vector was computed with `openssl enc -aes-256-cbc -nopad` over a hand-padded
 *   plaintext and `sha1sum`, see README.md. Its plaintext is 132 bytes, so PKCS#7 to 32 pads 28
 *   bytes where padding to AES's 16 would pad 12: the vector tells the two apart.
 */
const TOKEN = "AAAAA";
const ENCODING_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID = "wxsandbox0000000001";
const RANDOM = Buffer.from("0123456789abcdef", "ascii");
const MESSAGE =
  '{"ToUserName":"gh_sandbox","Event":"wxa_media_check","trace_id":"t-1xxxxxxxxxxxxxxxxxxxxxxx"}';
const ENCRYPT =
  "Q3stYC6hdFzMh9T8HCvyDHRnvVigj2F9TClg++87zBTgt93XAICPBSCLaUyhcAACiWQeVoBLWMEKV6G75emGz9Gl4HbLFvhGG+x+MKpdrlJCH4r78ZQFhISpNj5cNeWyGeT3pl4twy5F2JWD+pMS0iDJF++dupE6OGoALgLnANWv36F6EEFwdQmAVKea9eUCWWf9n+UPWk9/Ty+hguRfMA==";
const SAFE_QUERY = {
  signature: "899cf89e464efb63f54ddac96b0a0a235f53aa78",
  timestamp: "1714037059",
  nonce: "486452656",
  encrypt_type: "aes",
  msg_signature: "d3ff1e0ba6e299349c0387773d1f4e13b9002813",
};

const plainPush = new WechatPush({ appid: APPID, token: TOKEN });
const safePush = new WechatPush({ appid: APPID, token: TOKEN, encodingAesKey: ENCODING_AES_KEY });

function rejection(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof WechatPushError) return error.reason;
    throw error;
  }
  throw new Error("expected a WechatPushError");
}

describe("signatures", () => {
  it("match WeChat's documented GET example, and the GET check echoes echostr", () => {
    expect(pushSignature(TOKEN, "1714036504", "1514711492")).toBe(
      "f464b24fc39322e44b38aa78f5edd27bd1441696",
    );
    const query = {
      signature: "f464b24fc39322e44b38aa78f5edd27bd1441696",
      echostr: "4375120948345356249",
      timestamp: "1714036504",
      nonce: "1514711492",
    };
    expect(plainPush.verifyServer(query)).toBe("4375120948345356249");
    expect(plainPush.verifyServer({ ...query, nonce: "1514711493" })).toBeNull();
    expect(plainPush.verifyServer({ ...query, signature: undefined })).toBeNull();
    expect(new WechatPush({ appid: APPID, token: "BBBBB" }).verifyServer(query)).toBeNull();
  });

  it("msg_signature is sha1 of token, timestamp, nonce and Encrypt sorted", () => {
    const sorted = [TOKEN, SAFE_QUERY.timestamp, SAFE_QUERY.nonce, ENCRYPT].sort().join("");
    expect(createHash("sha1").update(sorted).digest("hex")).toBe(SAFE_QUERY.msg_signature);
    expect(pushSignature(TOKEN, SAFE_QUERY.timestamp, SAFE_QUERY.nonce, ENCRYPT)).toBe(
      SAFE_QUERY.msg_signature,
    );
  });
});

describe("safe-mode encryption", () => {
  const key = aesKeyOf(ENCODING_AES_KEY);

  it("the key is base64decode(EncodingAESKey + '='), 32 bytes", () => {
    expect(key).toHaveLength(32);
    expect(key.toString("hex")).toBe(Buffer.from(`${ENCODING_AES_KEY}=`, "base64").toString("hex"));
    expect(() => aesKeyOf("too-short")).toThrow(/43/);
  });

  it("encrypts the documented layout to the known ciphertext", () => {
    expect(encryptPushMessage(key, APPID, MESSAGE, RANDOM)).toBe(ENCRYPT);
  });

  it("decrypts the known ciphertext and checks the appid at its end", () => {
    expect(decryptPushMessage(key, APPID, ENCRYPT)).toBe(MESSAGE);
    expect(rejection(() => decryptPushMessage(key, "wxanotherapp000001", ENCRYPT))).toBe(
      "wrong_appid",
    );
  });

  it("pads to a multiple of 32 bytes: the 132-byte plaintext is 160 bytes of ciphertext", () => {
    expect(Buffer.from(ENCRYPT, "base64")).toHaveLength(160);
    expect(Buffer.from(encryptPushMessage(key, APPID, MESSAGE), "base64")).toHaveLength(160);
  });

  it.each([
    ["not whole blocks", ENCRYPT.slice(0, 20)],
    ["empty", ""],
    ["a flipped last block", `${ENCRYPT.slice(0, -6)}AAAA==`],
  ])("refuses ciphertext that is %s", (_name, encrypted) => {
    expect(["bad_ciphertext", "wrong_appid"]).toContain(
      rejection(() => decryptPushMessage(key, APPID, encrypted)),
    );
  });

  it("round-trips messages of every length around the 32-byte boundary, in UTF-8", () => {
    for (let n = 0; n < 70; n++) {
      const message = `{"a":"${"名".repeat(n % 5)}${"x".repeat(n)}"}`;
      expect(decryptPushMessage(key, APPID, encryptPushMessage(key, APPID, message))).toBe(message);
    }
  });
});

describe("WechatPush.open", () => {
  it("opens the known safe-mode push", () => {
    const body = JSON.stringify({ ToUserName: "gh_sandbox", Encrypt: ENCRYPT });
    expect(safePush.open(SAFE_QUERY, body)).toEqual(JSON.parse(MESSAGE));
  });

  it("opens WeChat's documented plaintext example", () => {
    const query = {
      signature: "899cf89e464efb63f54ddac96b0a0a235f53aa78",
      timestamp: "1714037059",
      nonce: "486452656",
    };
    const body = '{"ToUserName":"gh_97417a04a28d","MsgType":"event","Event":"debug_demo"}';
    expect(plainPush.open(query, body)).toMatchObject({ Event: "debug_demo" });
  });

  it("refuses a wrong msg_signature, a tampered Encrypt and a wrong signature", () => {
    const body = JSON.stringify({ ToUserName: "gh_sandbox", Encrypt: ENCRYPT });
    expect(
      rejection(() => safePush.open({ ...SAFE_QUERY, msg_signature: "0".repeat(40) }, body)),
    ).toBe("bad_signature");
    const tampered = JSON.stringify({ Encrypt: `A${ENCRYPT.slice(1)}` });
    expect(rejection(() => safePush.open(SAFE_QUERY, tampered))).toBe("bad_signature");
    expect(
      rejection(() =>
        plainPush.open({ ...SAFE_QUERY, encrypt_type: undefined, signature: "x" }, "{}"),
      ),
    ).toBe("bad_signature");
  });

  it("refuses plaintext when safe mode is configured, and ciphertext when it is not", () => {
    const sealed = plainPush.seal({ Event: "debug_demo" });
    expect(rejection(() => safePush.open(sealed.query, sealed.body))).toBe("encryption_mismatch");
    const encrypted = safePush.seal({ Event: "debug_demo" });
    expect(rejection(() => plainPush.open(encrypted.query, encrypted.body))).toBe(
      "encryption_mismatch",
    );
  });

  it("refuses a body that is not a JSON object", () => {
    const sealed = plainPush.seal({});
    expect(rejection(() => plainPush.open(sealed.query, "<xml></xml>"))).toBe("bad_body");
    expect(rejection(() => plainPush.open(sealed.query, "[1]"))).toBe("bad_body");
    expect(rejection(() => safePush.open({ ...SAFE_QUERY }, '{"ToUserName":"gh"}'))).toBe(
      "bad_body",
    );
  });

  it("refuses a push sealed for another app with the same token and key", () => {
    const other = new WechatPush({
      appid: "wxanotherapp000001",
      token: TOKEN,
      encodingAesKey: ENCODING_AES_KEY,
    });
    const sealed = other.seal({ Event: "debug_demo" });
    expect(rejection(() => safePush.open(sealed.query, sealed.body))).toBe("wrong_appid");
  });

  it("seal then open round-trips in both modes, with the query WeChat sends", () => {
    const message = { ToUserName: "gh_sandbox", Event: "user_info_modified", CreateTime: 1 };
    const safe = safePush.seal(message, { timestamp: "1714037059", nonce: "486452656" });
    expect(Object.keys(safe.query).sort()).toEqual([
      "encrypt_type",
      "msg_signature",
      "nonce",
      "signature",
      "timestamp",
    ]);
    expect(JSON.parse(safe.body)).toEqual({
      ToUserName: "gh_sandbox",
      Encrypt: expect.any(String),
    });
    expect(safePush.open(safe.query, safe.body)).toEqual(message);
    const plain = plainPush.seal(message);
    expect(plainPush.open(plain.query, plain.body)).toEqual(message);
  });
});

describe("WechatPush.open, given the time", () => {
  const signedAt = 1_800_000_000;
  const sealedAt = (push: WechatPush, seconds: number) =>
    push.seal({ Event: "user_info_modified" }, { timestamp: String(seconds) });

  it.each([
    ["plaintext", plainPush],
    ["safe mode", safePush],
  ])(
    "%s: accepts a push signed within PUSH_MAX_AGE_S either way, refuses it as stale past that",
    (_mode, push) => {
      const { query, body } = sealedAt(push, signedAt);
      for (const offsetS of [0, PUSH_MAX_AGE_S, -PUSH_MAX_AGE_S]) {
        expect(push.open(query, body, { now: (signedAt + offsetS) * 1000 })).toMatchObject({
          Event: "user_info_modified",
        });
      }
      for (const offsetS of [PUSH_MAX_AGE_S + 1, -(PUSH_MAX_AGE_S + 1), 3 * 24 * 60 * 60]) {
        expect(rejection(() => push.open(query, body, { now: (signedAt + offsetS) * 1000 }))).toBe(
          "stale",
        );
      }
    },
  );

  it("checks the signature first: a forged push is bad_signature, whatever its time", () => {
    const { query, body } = sealedAt(plainPush, signedAt);
    const forged = { ...query, signature: "0".repeat(40) };
    expect(rejection(() => plainPush.open(forged, body, { now: 0 }))).toBe("bad_signature");
  });
});

describe("parsePushEvent", () => {
  it("reads wxa_media_check with labels as strings, as WeChat pushes them", () => {
    const message = {
      ToUserName: "gh_7bf1f1389686",
      FromUserName: "or9bw69jaWwJlF-6u0z3qT3KmO2k",
      CreateTime: 1762329554,
      MsgType: "event",
      Event: "wxa_media_check",
      appid: "wxb04d1be1ede56d47",
      trace_id: "690b03d2-301f6111-35ffbd44",
      version: 2,
      result: { suggest: "risky", label: "20002" },
      detail: [
        { strategy: "content_model", errcode: 0, suggest: "risky", label: "20002", prob: 90 },
      ],
    };
    expect(parsePushEvent(message)).toEqual({
      type: "wxa_media_check",
      appid: "wxb04d1be1ede56d47",
      traceId: "690b03d2-301f6111-35ffbd44",
      version: 2,
      errcode: 0,
      result: { suggest: "risky", label: 20002 },
      detail: [
        {
          strategy: "content_model",
          errcode: 0,
          suggest: "risky",
          label: 20002,
          prob: 90,
          keyword: null,
        },
      ],
      message,
    });
  });

  it("reads a failed media check (errcode, no result) with a null result", () => {
    const event = parsePushEvent({
      Event: "wxa_media_check",
      appid: "wx1",
      trace_id: "t",
      version: "2",
      detail: [],
      errcode: 43104,
      errmsg: "this appid does not have permission",
    });
    expect(event).toMatchObject({
      type: "wxa_media_check",
      errcode: 43104,
      result: null,
      version: 2,
    });
  });

  it("reads the user events, with WeChat's sample spelling of keys (leading spaces) too", () => {
    expect(
      parsePushEvent({
        Event: "user_authorization_revoke",
        " OpenID": "oaKk343WOktAaT2ygsX138BGblrg",
        " AppID": "wx13974bf780d3dc89",
        " RevokeInfo": "6",
      }),
    ).toMatchObject({
      type: "user_authorization_revoke",
      appid: "wx13974bf780d3dc89",
      openid: "oaKk343WOktAaT2ygsX138BGblrg",
      unionid: null,
      revokeInfo: "6",
    });
    expect(
      parsePushEvent({
        Event: "user_authorization_cancellation",
        OpenID: "o1",
        AppID: "wx1",
        UnionID: "u1",
      }),
    ).toMatchObject({ type: "user_authorization_cancellation", openid: "o1", unionid: "u1" });
    expect(parsePushEvent({ Event: "user_info_modified", AppID: "wx1" })).toMatchObject({
      type: "user_info_modified",
      appid: "wx1",
      openid: null,
    });
  });

  it("passes unknown events through and refuses a known event without its ids", () => {
    const message = { MsgType: "event", Event: "debug_demo", debug_str: "hello world" };
    expect(parsePushEvent(message)).toEqual({ type: "unknown", event: "debug_demo", message });
    expect(parsePushEvent({ MsgType: "text" })).toMatchObject({ type: "unknown", event: "text" });
    expect(rejection(() => parsePushEvent({ Event: "wxa_media_check", appid: "wx1" }))).toBe(
      "bad_event",
    );
    expect(
      rejection(() => parsePushEvent({ Event: "user_authorization_revoke", AppID: "wx1" })),
    ).toBe("bad_event");
  });
});
