import { maskPhone } from "@wxauth/contracts";
import { sms } from "tencentcloud-sdk-nodejs-sms";
import type { SmsConfig } from "../config.js";
import { AppError } from "../errors.js";

/** The subset of a pino logger the SMS code uses. Phones reach it masked, codes never. */
export interface SmsLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Where a send came from, for the log lines it causes. */
export interface SmsContext {
  requestId?: string;
}

/**
 * Sends a verification code by SMS. Another provider implements this one method; a send that does
 * not reach the phone throws AppError SMS_UNAVAILABLE.
 */
export interface SmsSender {
  send(phoneE164: string, code: string, minutes: number, context?: SmsContext): Promise<void>;
}

/** SMS_PROVIDER=none: SMS is switched off, and every send says so. */
export const disabledSmsSender: SmsSender = {
  async send() {
    throw new AppError("SMS_UNAVAILABLE", "SMS is switched off on this server.", {
      retryable: false,
    });
  },
};

/** What the SDK throws: Tencent's error code and RequestId when Tencent answered. */
interface TencentSdkError {
  code?: string;
  requestId?: string;
  httpCode?: number;
  message?: string;
}

/** Per-number limits are about one user's phone, not about this deployment's configuration. */
const isPhoneLimit = (code: string) => code.startsWith("LimitExceeded.PhoneNumber");

/**
 * Tencent Cloud SMS through Tencent's official SDK: SendSms, API version 2021-01-11, the template's
 * parameters `[code, minutes]`. Tencent's refusals (per-number limits, signature or template
 * errors, AuthFailure.*) and failures to reach it become SMS_UNAVAILABLE, logged with Tencent's
 * error code and RequestId, the phone masked and the code left out.
 */
export class TencentSmsSender implements SmsSender {
  private readonly client: InstanceType<typeof sms.v20210111.Client>;

  constructor(
    private readonly config: SmsConfig["tencent"],
    private readonly logger: SmsLogger,
  ) {
    const endpoint = new URL(config.endpoint);
    this.client = new sms.v20210111.Client({
      credential: { secretId: config.secretId, secretKey: config.secretKey },
      region: config.region,
      profile: {
        httpProfile: {
          endpoint: endpoint.host,
          protocol: `${endpoint.protocol}//`,
          reqTimeout: Math.ceil(config.timeoutMs / 1000),
        },
      },
    });
  }

  async send(phoneE164: string, code: string, minutes: number, context: SmsContext = {}) {
    const logged = {
      event: "sms_refused",
      requestId: context.requestId,
      phone: maskPhone(phoneE164),
    };
    let response;
    try {
      response = await this.client.SendSms({
        PhoneNumberSet: [phoneE164],
        SmsSdkAppId: this.config.sdkAppId,
        SignName: this.config.signName,
        TemplateId: this.config.templateId,
        TemplateParamSet: [code, String(minutes)],
      });
    } catch (caught) {
      const error = caught as TencentSdkError;
      // Without a code Tencent never answered (network, timeout, HTTP error): worth a retry.
      const reached = error.code !== undefined;
      this.logger.error(
        {
          ...logged,
          tencentCode: error.code ?? null,
          tencentRequestId: error.requestId || null,
          httpStatus: error.httpCode ?? null,
          reason: reached ? undefined : error.message,
        },
        reached
          ? "Tencent Cloud SMS refused the request: check the SMS configuration"
          : "Tencent Cloud SMS could not be reached",
      );
      throw new AppError("SMS_UNAVAILABLE", undefined, { retryable: !reached });
    }
    const status = response.SendStatusSet?.[0];
    if (status?.Code === "Ok") return;
    const tencentCode = status?.Code ?? "NoSendStatus";
    const entry = { ...logged, tencentCode, tencentRequestId: response.RequestId ?? null };
    if (isPhoneLimit(tencentCode)) {
      this.logger.warn(entry, "Tencent Cloud SMS refused this phone number (its own limit)");
    } else {
      this.logger.error(entry, "Tencent Cloud SMS refused the send: check the SMS configuration");
    }
    throw new AppError("SMS_UNAVAILABLE", undefined, { retryable: false });
  }
}

export function createSmsSender(config: SmsConfig, logger: SmsLogger): SmsSender {
  return config.provider === "tencent"
    ? new TencentSmsSender(config.tencent, logger)
    : disabledSmsSender;
}
