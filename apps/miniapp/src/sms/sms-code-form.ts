import { normalizePhone, type SmsCodeSent } from "@wxauth/contracts";
import { ref } from "vue";
import { describeFailure } from "../errors/messages";

export interface SmsCodeFormDependencies {
  /** Sends a code to `phone` (E.164); null when there is nothing to send any more. */
  send(phone: string): Promise<SmsCodeSent | null>;
  /** Proves `phone` with `smsCode`: registers, or binds the phone to the signed-in user. */
  submit(phone: string, smsCode: string): Promise<void>;
  /** The code just sent, where the app can read it itself (the H5 sandbox); else undefined. */
  readSentCode(phone: string): Promise<string | undefined>;
}

/**
 * The SMS form's behaviour, for registration and for changing the phone alike: a phone checked
 * before anything is sent, a resend countdown (the API's retryAfter, 60 s by default), one request
 * at a time, and a Chinese status line for every outcome.
 */
export function createSmsCodeForm(deps: SmsCodeFormDependencies) {
  const phone = ref("");
  const code = ref("");
  const secondsLeft = ref(0);
  const busy = ref<"sending" | "submitting" | null>(null);
  const status = ref("");
  let countdown: ReturnType<typeof setInterval> | undefined;

  function stopCountdown(): void {
    clearInterval(countdown);
    countdown = undefined;
  }

  function startCountdown(seconds: number): void {
    stopCountdown();
    secondsLeft.value = seconds;
    countdown = setInterval(() => {
      secondsLeft.value -= 1;
      if (secondsLeft.value <= 0) stopCountdown();
    }, 1000);
  }

  /** The typed phone in E.164, or undefined after saying what is wrong with it. */
  function typedPhone(): string | undefined {
    const e164 = normalizePhone(phone.value.trim());
    if (e164 === undefined) status.value = "请输入正确的手机号，如 13800138000";
    return e164;
  }

  async function sendCode(): Promise<void> {
    if (busy.value || secondsLeft.value > 0) return;
    const e164 = typedPhone();
    if (e164 === undefined) return;
    busy.value = "sending";
    status.value = "正在发送验证码…";
    try {
      const sent = await deps.send(e164);
      if (sent === null) {
        status.value = "";
        return;
      }
      startCountdown(sent.retryAfter);
      status.value = `验证码已发送，${Math.round(sent.expiresIn / 60)} 分钟内有效`;
      const readable = await deps.readSentCode(e164);
      if (readable !== undefined) code.value = readable;
    } catch (error) {
      status.value = describeFailure(error, "sms").message;
    } finally {
      busy.value = null;
    }
  }

  async function submitCode(): Promise<boolean> {
    if (busy.value) return false;
    const e164 = typedPhone();
    if (e164 === undefined) return false;
    const smsCode = code.value.trim();
    if (!/^\d{6}$/.test(smsCode)) {
      status.value = "请输入短信中的 6 位验证码";
      return false;
    }
    busy.value = "submitting";
    status.value = "正在验证…";
    try {
      await deps.submit(e164, smsCode);
      status.value = "";
      code.value = "";
      return true;
    } catch (error) {
      status.value = describeFailure(error, "sms").message;
      return false;
    } finally {
      busy.value = null;
    }
  }

  return { phone, code, secondsLeft, busy, status, sendCode, submitCode, dispose: stopCountdown };
}
