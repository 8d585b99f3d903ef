import { describe, expect, it } from "vitest";
import { WechatApiError, errorFromErrcode, isConfigErrcode, parseRid } from "./errors.js";

describe("WechatApiError", () => {
  it("parses the rid out of errmsg", () => {
    expect(parseRid("invalid code, rid: 6123abcd-0a1b2c3d-4e5f6a7b")).toBe(
      "6123abcd-0a1b2c3d-4e5f6a7b",
    );
    expect(parseRid("invalid code, hints: [ req_id: abc ]")).toBeNull();
    expect(errorFromErrcode("jscode2session", 40029, "invalid code, rid: 61-2").rid).toBe("61-2");
  });

  it("classifies errcodes", () => {
    expect(errorFromErrcode("jscode2session", 40029, "")).toMatchObject({
      kind: "wechat",
      retryable: false,
    });
    expect(errorFromErrcode("jscode2session", -1, "")).toMatchObject({
      kind: "wechat",
      retryable: true,
    });
    expect(errorFromErrcode("jscode2session", 45011, "")).toMatchObject({
      kind: "wechat",
      retryable: true,
    });
    expect(errorFromErrcode("jscode2session", 40125, "")).toMatchObject({
      kind: "config",
      retryable: false,
    });
    expect(errorFromErrcode("getuserphonenumber", 40001, "")).toMatchObject({ kind: "wechat" });
    // On the token endpoints 40001 means a wrong secret.
    expect(isConfigErrcode("stable_token", 40001)).toBe(true);
    expect(isConfigErrcode("getuserphonenumber", 40001)).toBe(false);
  });

  it("is an Error with a message built from api, kind, errcode and errmsg only", () => {
    const error = new WechatApiError({
      api: "getuserphonenumber",
      kind: "timeout",
      errcode: -1,
      errmsg: "no answer within the 5000 ms budget",
      retryable: true,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("WechatApiError");
    expect(error.message).toBe(
      "WeChat getuserphonenumber failed (timeout, errcode -1): no answer within the 5000 ms budget",
    );
  });
});
