import { ERROR_CODES, errorCatalog } from "@wxauth/contracts";
import { describe, expect, it } from "vitest";
import { describeFailure, phoneFailureMessages } from "./messages";
import { ApiError, TransportError } from "../http/errors";
import { WechatLoginError } from "../wechat/errors";
import { phoneAuthorizationFrom, type PhoneFailure } from "../wechat/phone";

const CHINESE = /[\u4e00-\u9fff]/;

function apiError(code: (typeof ERROR_CODES)[number]): ApiError {
  const entry = errorCatalog[code];
  return new ApiError(entry.status, {
    code,
    message: entry.message.en,
    retryable: entry.retryable,
    requestId: "req-1",
  });
}

describe("error messages", () => {
  it.each(ERROR_CODES)("shows %s in Chinese, from the contract catalog", (code) => {
    const notice = describeFailure(apiError(code));
    expect(notice.message).toMatch(CHINESE);
    expect(notice.message).toBe(errorCatalog[code].message.zh);
    expect(notice.retryable).toBe(errorCatalog[code].retryable);
  });

  it("says a refused phone code needs another tap, not a new login", () => {
    for (const code of ["WECHAT_CODE_INVALID", "WECHAT_CODE_USED"] as const) {
      const notice = describeFailure(apiError(code), "phone");
      expect(notice.message).toContain("再次点击");
      expect(notice.retryable).toBe(true);
    }
    expect(describeFailure(apiError("PHONE_ALREADY_BOUND"), "phone").message).toBe(
      errorCatalog.PHONE_ALREADY_BOUND.message.zh,
    );
  });

  it("tells what to fix in the SMS form, and that an expired registration needs a new code", () => {
    expect(describeFailure(apiError("VALIDATION_FAILED"), "sms").message).toContain("6 位验证码");
    expect(describeFailure(apiError("REGISTRATION_TICKET_INVALID"), "sms").message).toContain(
      "重新获取验证码",
    );
    for (const code of ["SMS_CODE_INVALID", "SMS_RATE_LIMITED", "SMS_UNAVAILABLE"] as const) {
      expect(describeFailure(apiError(code), "sms").message).toBe(errorCatalog[code].message.zh);
    }
  });

  it("tells what image to pick instead when an avatar upload is refused", () => {
    expect(describeFailure(apiError("VALIDATION_FAILED"), "avatar").message).toContain(
      "JPG、PNG 或 WebP",
    );
    expect(describeFailure(apiError("PAYLOAD_TOO_LARGE"), "avatar").message).toContain(
      "不能超过 1 MB",
    );
    expect(describeFailure(apiError("UNAUTHORIZED"), "avatar").message).toBe(
      errorCatalog.UNAUTHORIZED.message.zh,
    );
  });

  it.each([
    [new TransportError("network", "request:fail"), "网络连接失败"],
    [new TransportError("timeout", "request:fail timeout"), "超时"],
    [new TransportError("invalid_response", "HTTP 502"), "服务器响应异常"],
    [new WechatLoginError("login:fail"), "微信登录失败"],
    [new Error("unexpected"), "出了点问题"],
  ])("offers a retry for %s", (error, text) => {
    const notice = describeFailure(error);
    expect(notice.message).toContain(text);
    expect(notice.retryable).toBe(true);
  });
});

describe("getPhoneNumber outcomes", () => {
  it.each([
    [
      { errMsg: "getPhoneNumber:ok", code: "phone-code-1" },
      { kind: "code", code: "phone-code-1" },
    ],
    [{ errMsg: "getPhoneNumber:fail user deny" }, { kind: "denied" }],
    [{ errMsg: "getPhoneNumber:fail:user cancel" }, { kind: "denied" }],
    [{ errMsg: "getPhoneNumber:fail no permission", errno: 1400001 }, { kind: "quota_exhausted" }],
    [{ errMsg: "getPhoneNumber:fail no permission" }, { kind: "no_permission" }],
    [
      { errMsg: "getPhoneNumber:fail privacy permission is not authorized", errno: 104 },
      { kind: "privacy_not_authorized" },
    ],
    [{ errMsg: "getPhoneNumber:ok", encryptedData: "b64", iv: "iv" }, { kind: "outdated_wechat" }],
    [
      { errMsg: "getPhoneNumber:fail system error" },
      { kind: "failed", errMsg: "getPhoneNumber:fail system error" },
    ],
  ])("maps %j", (detail, outcome) => {
    expect(phoneAuthorizationFrom(detail)).toEqual(outcome);
  });

  it("explains every failure in Chinese with a way forward", () => {
    const kinds: PhoneFailure["kind"][] = [
      "denied",
      "quota_exhausted",
      "no_permission",
      "privacy_not_authorized",
      "outdated_wechat",
      "failed",
    ];
    for (const kind of kinds) expect(phoneFailureMessages[kind]).toMatch(CHINESE);
    // WeChat's rules: after a refusal the app may not press the user to tap again.
    for (const kind of ["denied", "privacy_not_authorized"] as const) {
      expect(phoneFailureMessages[kind]).not.toMatch(/再次|请.*点击/);
    }
    expect(phoneFailureMessages.privacy_not_authorized).toContain("同意");
    expect(phoneFailureMessages.outdated_wechat).toContain("升级微信");
    expect(phoneFailureMessages.quota_exhausted).toContain("稍后再试");
  });
});
