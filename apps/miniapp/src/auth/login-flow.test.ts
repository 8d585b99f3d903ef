import type {
  AuthenticatedSession,
  RequestBody,
  SmsCodeSent,
  WechatLoginResponse,
} from "@wxauth/contracts";
import { describe, expect, it } from "vitest";
import { createLoginFlow, TICKET_RENEW_MARGIN_MS } from "./login-flow";
import { ApiError, TransportError } from "../http/errors";
import { deferred } from "../testing/fake-uni";
import { errorBody, session } from "../testing/fixtures";

const apiError = (code: Parameters<typeof errorBody>[0]) => {
  const { statusCode, data } = errorBody(code);
  return new ApiError(statusCode, data.error);
};

const device = { platform: "ios", model: "iPhone 15", system: "iOS 17.0" };

const registrationRequired = (ticket: string): WechatLoginResponse => ({
  status: "registration_required",
  registrationTicket: ticket,
  expiresIn: 600,
});

/** The flow wired to scripted answers; every call is recorded. */
function scripted(options: {
  logins: (WechatLoginResponse | Error)[];
  registrations?: (AuthenticatedSession | Error | Promise<AuthenticatedSession>)[];
  smsSends?: (SmsCodeSent | Error)[];
}) {
  let clock = 1_000_000;
  let codes = 0;
  const calls = {
    logins: 0,
    loginBodies: [] as RequestBody<"wechatLogin">[],
    registrations: [] as RequestBody<"wechatRegister">[],
    smsSends: [] as RequestBody<"sendRegistrationSms">[],
    signedIn: [] as AuthenticatedSession[],
  };
  const flow = createLoginFlow({
    getLoginCode: async () => `login-code-${++codes}`,
    appid: () => "wx-this-app",
    wechatLogin: async (body) => {
      calls.loginBodies.push(body);
      const answer = options.logins[calls.logins++];
      if (!answer) throw new Error("unexpected login");
      if (answer instanceof Error) throw answer;
      return answer;
    },
    wechatRegister: async (body) => {
      const answer = options.registrations?.[calls.registrations.length];
      calls.registrations.push(body);
      if (!answer) throw new Error("unexpected registration");
      if (answer instanceof Error) throw answer;
      return answer;
    },
    sendRegistrationSms: async (body) => {
      const answer = options.smsSends?.[calls.smsSends.length];
      calls.smsSends.push(body);
      if (!answer) throw new Error("unexpected SMS send");
      if (answer instanceof Error) throw answer;
      return answer;
    },
    signedIn: (signedIn) => calls.signedIn.push(signedIn),
    device: () => device,
    now: () => clock,
  });
  return { flow, calls, advance: (ms: number) => (clock += ms) };
}

describe("login flow", () => {
  it("signs a returning user in without asking for anything", async () => {
    const { flow, calls } = scripted({ logins: [session()] });
    await flow.signInSilently();
    expect(calls.signedIn).toEqual([session()]);
    expect(flow.phase.value).toBe("signed_in");
    expect(flow.status.value).toBe("登录成功");
    expect(flow.declined.value).toBe(false);
  });

  it("asks a new user to register, then registers with the phone code", async () => {
    const { flow, calls } = scripted({
      logins: [registrationRequired("ticket-0000000000000001")],
      registrations: [session()],
    });
    await flow.signInSilently();
    expect(flow.phase.value).toBe("registration_required");
    expect(flow.status.value).toContain("首次使用");

    await flow.authorizePhone({ kind: "code", code: "phone-code-1" });
    expect(calls.registrations).toEqual([
      { registrationTicket: "ticket-0000000000000001", phoneCode: "phone-code-1", device },
    ]);
    expect(calls.signedIn).toEqual([session()]);
  });

  it("sends the device with the login and with the registration", async () => {
    const { flow, calls } = scripted({
      logins: [registrationRequired("ticket-0000000000000001")],
      registrations: [session()],
    });
    await flow.signInSilently();
    await flow.authorizePhone({ kind: "code", code: "phone-code-1" });
    expect(calls.loginBodies).toEqual([{ code: "login-code-1", appid: "wx-this-app", device }]);
    expect(calls.registrations.map((body) => body.device)).toEqual([device]);
  });

  it("sends one registration for a double tap", async () => {
    const answer = deferred<AuthenticatedSession>();
    const { flow, calls } = scripted({
      logins: [registrationRequired("ticket-0000000000000001")],
      registrations: [answer.promise],
    });
    await flow.signInSilently();
    const first = flow.authorizePhone({ kind: "code", code: "phone-code-1" });
    const second = flow.authorizePhone({ kind: "code", code: "phone-code-2" });
    expect(flow.phase.value).toBe("registering");
    answer.resolve(session());
    await Promise.all([first, second]);
    expect(calls.registrations).toHaveLength(1);
    expect(calls.signedIn).toHaveLength(1);
  });

  it("renews a refused ticket silently and registers with the same phone code", async () => {
    const { flow, calls } = scripted({
      logins: [
        registrationRequired("ticket-0000000000000001"),
        registrationRequired("ticket-0000000000000002"),
      ],
      registrations: [apiError("REGISTRATION_TICKET_INVALID"), session()],
    });
    await flow.signInSilently();
    await flow.authorizePhone({ kind: "code", code: "phone-code-1" });
    expect(calls.logins).toBe(2);
    expect(calls.registrations).toEqual([
      { registrationTicket: "ticket-0000000000000001", phoneCode: "phone-code-1", device },
      { registrationTicket: "ticket-0000000000000002", phoneCode: "phone-code-1", device },
    ]);
    expect(calls.signedIn).toEqual([session()]);
  });

  it("asks for another tap when the renewed ticket meets a spent phone code", async () => {
    const { flow, calls } = scripted({
      logins: [
        registrationRequired("ticket-0000000000000001"),
        registrationRequired("ticket-0000000000000002"),
      ],
      registrations: [
        apiError("REGISTRATION_TICKET_INVALID"),
        apiError("WECHAT_CODE_USED"),
        session(),
      ],
    });
    await flow.signInSilently();
    await flow.authorizePhone({ kind: "code", code: "phone-code-1" });
    expect(flow.phase.value).toBe("registration_required");
    expect(flow.status.value).toBe("手机号验证已失效，请再次点击按钮");

    // The next tap uses the renewed ticket without logging in again.
    await flow.authorizePhone({ kind: "code", code: "phone-code-2" });
    expect(calls.logins).toBe(2);
    expect(calls.registrations.at(-1)).toEqual({
      registrationTicket: "ticket-0000000000000002",
      phoneCode: "phone-code-2",
      device,
    });
    expect(calls.signedIn).toEqual([session()]);
  });

  it("renews a ticket about to expire before using it", async () => {
    const { flow, calls, advance } = scripted({
      logins: [
        registrationRequired("ticket-0000000000000001"),
        registrationRequired("ticket-0000000000000002"),
      ],
      registrations: [session()],
    });
    await flow.signInSilently();
    advance(600_000 - TICKET_RENEW_MARGIN_MS + 1);
    await flow.authorizePhone({ kind: "code", code: "phone-code-1" });
    expect(calls.registrations).toEqual([
      { registrationTicket: "ticket-0000000000000002", phoneCode: "phone-code-1", device },
    ]);
  });

  it("explains a phone button that gave no code and offers SMS instead", async () => {
    const { flow, calls } = scripted({ logins: [registrationRequired("ticket-0000000000000001")] });
    await flow.signInSilently();
    await flow.authorizePhone({ kind: "failed", errMsg: "getPhoneNumber:fail system error" });
    expect(flow.status.value).toBe("获取手机号失败，请重试");
    expect(flow.phoneButtonUnavailable.value).toBe(false);
    for (const kind of [
      "quota_exhausted",
      "no_permission",
      "outdated_wechat",
      "privacy_not_authorized",
      "denied",
    ] as const) {
      await flow.authorizePhone({ kind });
      expect(flow.phase.value).toBe("registration_required");
      expect(flow.status.value).toMatch(/[\u4e00-\u9fff]/);
      expect(flow.phoneButtonUnavailable.value, kind).toBe(true);
    }
    expect(calls.registrations).toEqual([]);
  });

  it("counts a refused sheet as a decline, unlike WeChat refusing the button", async () => {
    const { flow } = scripted({ logins: [registrationRequired("ticket-0000000000000001")] });
    await flow.signInSilently();
    for (const kind of ["quota_exhausted", "no_permission", "outdated_wechat"] as const) {
      await flow.authorizePhone({ kind });
      expect(flow.declined.value, kind).toBe(false);
    }
    await flow.authorizePhone({ kind: "denied" });
    expect(flow.declined.value).toBe(true);
  });

  it("remembers 暂不登录 as a decline", () => {
    const { flow } = scripted({ logins: [] });
    flow.decline();
    expect(flow.declined.value).toBe(true);
  });

  it("keeps the phone button usable after a registration error", async () => {
    const { flow } = scripted({
      logins: [registrationRequired("ticket-0000000000000001")],
      registrations: [apiError("PHONE_ALREADY_BOUND")],
    });
    await flow.signInSilently();
    await flow.authorizePhone({ kind: "code", code: "phone-code-1" });
    expect(flow.phase.value).toBe("registration_required");
    expect(flow.status.value).toBe("该手机号已绑定其他微信账号");
  });

  it("offers a retry when the silent login fails, and the retry signs in", async () => {
    const { flow, calls } = scripted({
      logins: [new TransportError("network", "request:fail"), session()],
    });
    await flow.signInSilently();
    expect(flow.phase.value).toBe("login_failed");
    expect(flow.status.value).toBe("网络连接失败，请检查网络后重试");
    await flow.signInSilently();
    expect(calls.signedIn).toEqual([session()]);
  });

  it("waits for a tap after an explicit logout", () => {
    const { flow } = scripted({ logins: [] });
    flow.showSignedOut();
    expect(flow.phase.value).toBe("signed_out");
    expect(flow.status.value).toBe("你已退出登录");
  });

  describe("by SMS", () => {
    const sent: SmsCodeSent = { expiresIn: 300, retryAfter: 60 };

    it("sends the code for the current ticket, then registers with phone and code", async () => {
      const { flow, calls } = scripted({
        logins: [registrationRequired("ticket-0000000000000001")],
        smsSends: [sent],
        registrations: [session()],
      });
      await flow.signInSilently();
      expect(await flow.sendSmsCode("+8613800138000")).toEqual(sent);
      await flow.registerWithSmsCode("+8613800138000", "123456");
      expect(calls.logins).toBe(1);
      expect(calls.smsSends).toEqual([
        { registrationTicket: "ticket-0000000000000001", phone: "+8613800138000" },
      ]);
      expect(calls.registrations).toEqual([
        {
          registrationTicket: "ticket-0000000000000001",
          phone: "+8613800138000",
          smsCode: "123456",
          device,
        },
      ]);
      expect(calls.signedIn).toEqual([session()]);
      expect(flow.phase.value).toBe("signed_in");
    });

    it("renews a refused ticket once before sending, and sends for the fresh one", async () => {
      const { flow, calls } = scripted({
        logins: [
          registrationRequired("ticket-0000000000000001"),
          registrationRequired("ticket-0000000000000002"),
        ],
        smsSends: [apiError("REGISTRATION_TICKET_INVALID"), sent],
      });
      await flow.signInSilently();
      expect(await flow.sendSmsCode("+8613800138000")).toEqual(sent);
      expect(calls.smsSends.map((body) => body.registrationTicket)).toEqual([
        "ticket-0000000000000001",
        "ticket-0000000000000002",
      ]);
    });

    it("sends nothing when renewing the ticket finds an account", async () => {
      const { flow, calls, advance } = scripted({
        logins: [registrationRequired("ticket-0000000000000001"), session()],
      });
      await flow.signInSilently();
      advance(600_000);
      expect(await flow.sendSmsCode("+8613800138000")).toBeNull();
      expect(calls.smsSends).toEqual([]);
      expect(calls.signedIn).toEqual([session()]);
    });

    it("throws a refused code for the form to show and stays ready for another", async () => {
      const { flow, calls } = scripted({
        logins: [registrationRequired("ticket-0000000000000001")],
        registrations: [apiError("SMS_CODE_INVALID"), session()],
      });
      await flow.signInSilently();
      await expect(flow.registerWithSmsCode("+8613800138000", "000000")).rejects.toMatchObject({
        code: "SMS_CODE_INVALID",
      });
      expect(flow.phase.value).toBe("registration_required");
      await flow.registerWithSmsCode("+8613800138000", "123456");
      expect(calls.signedIn).toEqual([session()]);
    });

    it("drops a ticket refused at registration, so the next code goes to a fresh one", async () => {
      const { flow, calls } = scripted({
        logins: [
          registrationRequired("ticket-0000000000000001"),
          registrationRequired("ticket-0000000000000002"),
        ],
        registrations: [apiError("REGISTRATION_TICKET_INVALID")],
        smsSends: [sent],
      });
      await flow.signInSilently();
      await expect(flow.registerWithSmsCode("+8613800138000", "123456")).rejects.toMatchObject({
        code: "REGISTRATION_TICKET_INVALID",
      });
      await flow.sendSmsCode("+8613800138000");
      expect(calls.smsSends[0]?.registrationTicket).toBe("ticket-0000000000000002");
    });

    it("sends one registration for a double submit", async () => {
      const answer = deferred<AuthenticatedSession>();
      const { flow, calls } = scripted({
        logins: [registrationRequired("ticket-0000000000000001")],
        registrations: [answer.promise],
      });
      await flow.signInSilently();
      const first = flow.registerWithSmsCode("+8613800138000", "123456");
      const second = flow.registerWithSmsCode("+8613800138000", "123456");
      answer.resolve(session());
      await Promise.all([first, second]);
      expect(calls.registrations).toHaveLength(1);
      expect(calls.signedIn).toHaveLength(1);
    });
  });
});
