import type { SmsCodeSent } from "@wxauth/contracts";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "../http/errors";
import { deferred } from "../testing/fake-uni";
import { errorBody } from "../testing/fixtures";
import { createSmsCodeForm, type SmsCodeFormDependencies } from "./sms-code-form";

const apiError = (code: Parameters<typeof errorBody>[0]) => {
  const { statusCode, data } = errorBody(code);
  return new ApiError(statusCode, data.error);
};

const sent: SmsCodeSent = { expiresIn: 300, retryAfter: 60 };

function formWith(overrides: Partial<SmsCodeFormDependencies> = {}) {
  const calls = { sends: [] as string[], submits: [] as [string, string][] };
  const form = createSmsCodeForm({
    send: async (phone) => {
      calls.sends.push(phone);
      return sent;
    },
    submit: async (phone, code) => {
      calls.submits.push([phone, code]);
    },
    readSentCode: async () => undefined,
    ...overrides,
  });
  return { form, calls };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("SMS code form", () => {
  it("sends to the phone in E.164 and counts down before another send", async () => {
    const { form, calls } = formWith();
    form.phone.value = " 13800138000 ";
    await form.sendCode();
    expect(calls.sends).toEqual(["+8613800138000"]);
    expect(form.secondsLeft.value).toBe(60);
    expect(form.status.value).toBe("验证码已发送，5 分钟内有效");

    await form.sendCode();
    expect(calls.sends).toHaveLength(1);
    vi.advanceTimersByTime(59_000);
    expect(form.secondsLeft.value).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(form.secondsLeft.value).toBe(0);
    await form.sendCode();
    expect(calls.sends).toHaveLength(2);
  });

  it("sends nothing to a malformed phone", async () => {
    const { form, calls } = formWith();
    for (const phone of ["", "1380013800", "12800138000", "+86 138 0013 8000", "abc"]) {
      form.phone.value = phone;
      await form.sendCode();
      expect(form.status.value).toContain("请输入正确的手机号");
    }
    expect(calls.sends).toEqual([]);
    expect(form.secondsLeft.value).toBe(0);
  });

  it("takes other E.164 numbers as they are", async () => {
    const { form, calls } = formWith();
    form.phone.value = "+85251234567";
    await form.sendCode();
    expect(calls.sends).toEqual(["+85251234567"]);
  });

  it("shows a refused send and lets the user try again at once", async () => {
    const refusals = [apiError("SMS_RATE_LIMITED"), apiError("SMS_UNAVAILABLE")];
    const { form } = formWith({
      send: async () => {
        throw refusals.shift();
      },
    });
    form.phone.value = "13800138000";
    await form.sendCode();
    expect(form.status.value).toBe("验证码发送太频繁，请稍后再试");
    expect(form.secondsLeft.value).toBe(0);
    await form.sendCode();
    expect(form.status.value).toBe("短信服务暂时不可用，请稍后再试或使用其他方式");
  });

  it("sends one request for a double tap", async () => {
    const answer = deferred<SmsCodeSent>();
    const sends: string[] = [];
    const { form } = formWith({
      send: (phone) => {
        sends.push(phone);
        return answer.promise;
      },
    });
    form.phone.value = "13800138000";
    const first = form.sendCode();
    const second = form.sendCode();
    expect(form.busy.value).toBe("sending");
    answer.resolve(sent);
    await Promise.all([first, second]);
    expect(sends).toHaveLength(1);
  });

  it("fills the code in where the app can read it (the H5 sandbox)", async () => {
    const { form } = formWith({ readSentCode: async (phone) => `${phone.slice(-6)}` });
    form.phone.value = "13800138000";
    await form.sendCode();
    expect(form.code.value).toBe("138000");
  });

  it("submits the phone and the 6-digit code, and clears the code after success", async () => {
    const { form, calls } = formWith();
    form.phone.value = "+8613800138000";
    form.code.value = "12345";
    expect(await form.submitCode()).toBe(false);
    expect(form.status.value).toBe("请输入短信中的 6 位验证码");
    form.code.value = " 123456 ";
    expect(await form.submitCode()).toBe(true);
    expect(calls.submits).toEqual([["+8613800138000", "123456"]]);
    expect(form.code.value).toBe("");
  });

  it("shows a refused code and keeps what was typed for a correction", async () => {
    const { form } = formWith({
      submit: async () => {
        throw apiError("SMS_CODE_INVALID");
      },
    });
    form.phone.value = "13800138000";
    form.code.value = "000000";
    expect(await form.submitCode()).toBe(false);
    expect(form.status.value).toBe("验证码错误或已失效，请重新获取");
    expect(form.code.value).toBe("000000");
    expect(form.busy.value).toBeNull();
  });

  it("stops the countdown when disposed", async () => {
    const { form } = formWith();
    form.phone.value = "13800138000";
    await form.sendCode();
    form.dispose();
    vi.advanceTimersByTime(10_000);
    expect(form.secondsLeft.value).toBe(60);
    expect(vi.getTimerCount()).toBe(0);
  });
});
