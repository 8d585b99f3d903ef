/** What WeChat's getphonenumber event carries (`e.detail`). */
export interface GetPhoneNumberDetail {
  errMsg?: string;
  errno?: number;
  /** The one-time phone code (base library 2.21.2+), redeemed by the API. */
  code?: string;
  /** Older base libraries deliver only the encrypted phone number, which this app cannot use. */
  encryptedData?: string;
  iv?: string;
}

/** The outcome of one tap on a phone button, on every platform. */
export type PhoneAuthorization =
  | { kind: "code"; code: string }
  | { kind: "denied" }
  | { kind: "quota_exhausted" }
  | { kind: "privacy_not_authorized" }
  | { kind: "outdated_wechat" }
  | { kind: "failed"; errMsg: string };

export type PhoneFailure = Exclude<PhoneAuthorization, { kind: "code" }>;

/** errno of getPhoneNumber when the mini program's phone-verification quota is used up. */
export const ERRNO_PHONE_QUOTA_EXHAUSTED = 1400001;
/** errno of a privacy API called before the user agreed to the privacy guidelines. */
export const ERRNO_PRIVACY_NOT_AUTHORIZED = 104;

export function phoneAuthorizationFrom(detail: GetPhoneNumberDetail): PhoneAuthorization {
  if (detail.code) return { kind: "code", code: detail.code };
  if (detail.errno === ERRNO_PHONE_QUOTA_EXHAUSTED) return { kind: "quota_exhausted" };
  if (detail.errno === ERRNO_PRIVACY_NOT_AUTHORIZED) return { kind: "privacy_not_authorized" };
  const errMsg = detail.errMsg ?? "";
  if (/deny|cancel/i.test(errMsg)) return { kind: "denied" };
  if (detail.encryptedData) return { kind: "outdated_wechat" };
  return { kind: "failed", errMsg };
}
