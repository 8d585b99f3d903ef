import type {
  AuthenticatedSession,
  Device,
  RequestBody,
  SmsCodeSent,
  WechatLoginResponse,
} from "@wxauth/contracts";
import { ref } from "vue";
import { describeFailure, phoneFailureMessages } from "../errors/messages";
import { ApiError } from "../http/errors";
import { phoneButtonRefused, type PhoneAuthorization } from "../wechat/phone";

export type LoginPhase =
  | "idle"
  | "signing_in"
  | "signed_in"
  | "signed_out"
  | "login_failed"
  | "registration_required"
  | "registering";

export interface LoginFlowDependencies {
  getLoginCode(): Promise<string>;
  /** The mini program's appid: the API serves several, and must know which one the code is from. */
  appid(): string;
  wechatLogin(body: RequestBody<"wechatLogin">): Promise<WechatLoginResponse>;
  wechatRegister(body: RequestBody<"wechatRegister">): Promise<AuthenticatedSession>;
  sendRegistrationSms(body: RequestBody<"sendRegistrationSms">): Promise<SmsCodeSent>;
  /** Keeps the session. */
  signedIn(session: AuthenticatedSession): void;
  /** The device, stored with the session so the user can recognise it in their list. */
  device(): Device;
  now(): number;
}

/** A ticket this close to its expiry is renewed before registering with it. */
export const TICKET_RENEW_MARGIN_MS = 10_000;

const isTicketRefused = (error: unknown) =>
  error instanceof ApiError && error.code === "REGISTRATION_TICKET_INVALID";

/**
 * Signing in, for the whole launch: the silent login at launch, then registration, by a phone code
 * or by an SMS code, when the user asks for an account. Every failure ends in a Chinese status
 * line and a state from which the user can go on. It also remembers a refusal, so nothing asks
 * again on its own until the next launch.
 */
export function createLoginFlow(deps: LoginFlowDependencies) {
  const phase = ref<LoginPhase>("idle");
  const status = ref("");
  /** The user declined this launch: 暂不登录, a refused phone sheet, or leaving the login page. */
  const declined = ref(false);
  /** WeChat or the user refused the phone button this launch; SMS takes its place. */
  const phoneButtonUnavailable = ref(false);

  let registration: { ticket: string; expiresAt: number } | null = null;
  let signingIn = false;
  // A plain flag, set before the first await, so a double tap cannot start a second registration.
  let registering = false;

  function signedIn(session: AuthenticatedSession): void {
    phase.value = "signed_in";
    status.value = "登录成功";
    deps.signedIn(session);
  }

  /** Logs in with a fresh wx.login code. Returns the registration ticket, or null when signed in. */
  async function requestRegistrationTicket(): Promise<string | null> {
    const answer = await deps.wechatLogin({
      code: await deps.getLoginCode(),
      appid: deps.appid(),
      device: deps.device(),
    });
    if (answer.status === "authenticated") {
      signedIn(answer);
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

  /** Runs one registration attempt; a second one while it runs is ignored. */
  async function registerWith(attempt: () => Promise<void>): Promise<void> {
    if (registering) return;
    registering = true;
    phase.value = "registering";
    try {
      await attempt();
    } catch (error) {
      phase.value = "registration_required";
      throw error;
    } finally {
      registering = false;
    }
  }

  async function registerWithPhoneCode(phoneCode: string): Promise<void> {
    const ticket = await currentTicket();
    if (ticket === null) return;
    try {
      signedIn(
        await deps.wechatRegister({ registrationTicket: ticket, phoneCode, device: deps.device() }),
      );
    } catch (error) {
      if (!isTicketRefused(error)) throw error;
      // The ticket expired or was spent: a silent login gives a fresh one. If the API refused the
      // ticket before redeeming the phone code, the same code still works; if not, the user is
      // asked to tap again and the fresh ticket is kept for that tap.
      registration = null;
      const freshTicket = await requestRegistrationTicket();
      if (freshTicket === null) return;
      signedIn(
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
      if (phoneButtonRefused(authorization)) phoneButtonUnavailable.value = true;
      if (authorization.kind === "denied" || authorization.kind === "privacy_not_authorized") {
        declined.value = true;
      }
      return;
    }
    status.value = "正在注册…";
    await registerWith(() => registerWithPhoneCode(authorization.code)).catch((error) => {
      status.value = describeFailure(error, "phone").message;
    });
  }

  /**
   * Sends an SMS code for registering, bound to the current ticket; null when renewing the ticket
   * found an account instead (signed in, nothing sent). A refused ticket is renewed once: the API
   * sends nothing for a ticket it refuses.
   */
  async function sendSmsCode(phone: string): Promise<SmsCodeSent | null> {
    for (let attempt = 0; ; attempt++) {
      const ticket = await currentTicket();
      if (ticket === null) return null;
      try {
        return await deps.sendRegistrationSms({ registrationTicket: ticket, phone });
      } catch (error) {
        if (attempt > 0 || !isTicketRefused(error)) throw error;
        registration = null;
      }
    }
  }

  /**
   * Registers with the phone and the SMS code sent for the current ticket. Failures are thrown for
   * the SMS form to show; a refused ticket is dropped, so the next code is sent for a fresh one.
   */
  async function registerWithSmsCode(phone: string, smsCode: string): Promise<void> {
    await registerWith(async () => {
      const ticket = await currentTicket();
      if (ticket === null) return;
      try {
        signedIn(
          await deps.wechatRegister({
            registrationTicket: ticket,
            phone,
            smsCode,
            device: deps.device(),
          }),
        );
      } catch (error) {
        if (isTicketRefused(error)) registration = null;
        throw error;
      }
    });
  }

  function decline(): void {
    declined.value = true;
  }

  /** After an explicit logout the page waits for a tap instead of signing the user straight back in. */
  function showSignedOut(): void {
    phase.value = "signed_out";
    status.value = "你已退出登录";
  }

  return {
    phase,
    status,
    declined,
    phoneButtonUnavailable,
    signInSilently,
    authorizePhone,
    sendSmsCode,
    registerWithSmsCode,
    decline,
    showSignedOut,
  };
}

export type LoginFlow = ReturnType<typeof createLoginFlow>;
