import type {
  AuthenticatedSession,
  Device,
  RequestBody,
  WechatLoginResponse,
} from "@wxauth/contracts";
import { ref } from "vue";
import { describeFailure, phoneFailureMessages } from "../errors/messages";
import { ApiError } from "../http/errors";
import type { PhoneAuthorization } from "../wechat/phone";

export type LoginPhase =
  "signing_in" | "signed_out" | "login_failed" | "registration_required" | "registering";

export interface LoginFlowDependencies {
  getLoginCode(): Promise<string>;
  wechatLogin(body: RequestBody<"wechatLogin">): Promise<WechatLoginResponse>;
  wechatRegister(body: RequestBody<"wechatRegister">): Promise<AuthenticatedSession>;
  /** Keeps the session and leaves the login page. */
  signedIn(session: AuthenticatedSession): void;
  /** The device, stored with the session so the user can recognise it in their list. */
  device(): Device;
  now(): number;
}

/** A ticket this close to its expiry is renewed before registering with it. */
export const TICKET_RENEW_MARGIN_MS = 10_000;

/**
 * The login page's behaviour: silent login, then registration with a phone code when the API asks
 * for it. Every failure ends in a Chinese status line and a state from which the user can go on.
 */
export function createLoginFlow(deps: LoginFlowDependencies) {
  const phase = ref<LoginPhase>("signing_in");
  const status = ref("正在登录…");

  let registration: { ticket: string; expiresAt: number } | null = null;
  let signingIn = false;
  // A plain flag, set before the first await, so a double tap cannot start a second registration.
  let registering = false;

  /** Logs in with a fresh wx.login code. Returns the registration ticket, or null when signed in. */
  async function requestRegistrationTicket(): Promise<string | null> {
    const answer = await deps.wechatLogin({
      code: await deps.getLoginCode(),
      device: deps.device(),
    });
    if (answer.status === "authenticated") {
      status.value = "登录成功";
      deps.signedIn(answer);
      return null;
    }
    registration = {
      ticket: answer.registrationTicket,
      expiresAt: deps.now() + answer.expiresIn * 1000,
    };
    return registration.ticket;
  }

  async function signInSilently(): Promise<void> {
    if (signingIn || registering) return;
    signingIn = true;
    phase.value = "signing_in";
    status.value = "正在登录…";
    try {
      if ((await requestRegistrationTicket()) !== null) {
        phase.value = "registration_required";
        status.value = "首次使用，请同意协议并验证手机号完成注册";
      }
    } catch (error) {
      phase.value = "login_failed";
      status.value = describeFailure(error).message;
    } finally {
      signingIn = false;
    }
  }

  async function currentTicket(): Promise<string | null> {
    if (registration && registration.expiresAt - TICKET_RENEW_MARGIN_MS > deps.now()) {
      return registration.ticket;
    }
    return requestRegistrationTicket();
  }

  async function register(phoneCode: string): Promise<void> {
    const ticket = await currentTicket();
    if (ticket === null) return;
    try {
      deps.signedIn(
        await deps.wechatRegister({ registrationTicket: ticket, phoneCode, device: deps.device() }),
      );
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "REGISTRATION_TICKET_INVALID")) throw error;
      // The ticket expired or was spent: a silent login gives a fresh one. If the API refused the
      // ticket before redeeming the phone code, the same code still works; if not, the user is
      // asked to tap again and the fresh ticket is kept for that tap.
      registration = null;
      const freshTicket = await requestRegistrationTicket();
      if (freshTicket === null) return;
      deps.signedIn(
        await deps.wechatRegister({
          registrationTicket: freshTicket,
          phoneCode,
          device: deps.device(),
        }),
      );
    }
  }

  async function authorizePhone(authorization: PhoneAuthorization): Promise<void> {
    if (registering) return;
    if (authorization.kind !== "code") {
      status.value = phoneFailureMessages[authorization.kind];
      return;
    }
    registering = true;
    phase.value = "registering";
    status.value = "正在注册…";
    try {
      await register(authorization.code);
    } catch (error) {
      phase.value = "registration_required";
      status.value = describeFailure(error, "phone").message;
    } finally {
      registering = false;
    }
  }

  /** After an explicit logout the page waits for a tap instead of signing the user straight back in. */
  function showSignedOut(): void {
    phase.value = "signed_out";
    status.value = "你已退出登录";
  }

  return { phase, status, signInSilently, authorizePhone, showSignedOut };
}
