import type { AuthenticatedSession, RequestBody, WechatLoginResponse } from "@wxauth/contracts";
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
}) {
  let clock = 1_000_000;
  let codes = 0;
  const calls = {
    logins: 0,
    loginBodies: [] as RequestBody<"wechatLogin">[],
    registrations: [] as RequestBody<"wechatRegister">[],
    signedIn: [] as AuthenticatedSession[],
  };
  const flow = createLoginFlow({
    getLoginCode: async () => `login-code-${++codes}`,
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
    expect(flow.status.value).toBe("登录成功");
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
    expect(calls.loginBodies).toEqual([{ code: "login-code-1", device }]);
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

  it("explains a declined phone authorization and sends nothing", async () => {
    const { flow, calls } = scripted({ logins: [registrationRequired("ticket-0000000000000001")] });
    await flow.signInSilently();
    for (const kind of [
      "denied",
      "quota_exhausted",
      "privacy_not_authorized",
      "outdated_wechat",
    ] as const) {
      await flow.authorizePhone({ kind });
      expect(flow.phase.value).toBe("registration_required");
      expect(flow.status.value).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(calls.registrations).toEqual([]);
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
});
