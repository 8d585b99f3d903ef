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
  /** The button is closed to this mini program: an individual developer's, or unverified. */
  | { kind: "no_permission" }
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
  if (/no permission/i.test(errMsg)) return { kind: "no_permission" };
  if (/deny|cancel/i.test(errMsg)) return { kind: "denied" };
  if (detail.encryptedData) return { kind: "outdated_wechat" };
  return { kind: "failed", errMsg };
}

/**
 * The outcomes after which the button will not give a code this launch, whether WeChat refuses it
 * (no permission, quota, an old base library) or the user did (a deny, a refused privacy
 * guideline): SMS takes its place and the app does not ask for the button again.
 */
export function phoneButtonRefused(failure: PhoneFailure): boolean {
  return failure.kind !== "failed";
}

/** The first base library whose getPhoneNumber hands over a phone code. */
export const PHONE_CODE_MIN_BASE_LIBRARY = "2.21.2";

/** Whether base library `version` (e.g. "3.7.0") is at least `minimum`. */
export function isBaseLibraryAtLeast(version: string, minimum: string): boolean {
  const have = version.split(".").map(Number);
  const need = minimum.split(".").map(Number);
  for (let i = 0; i < need.length; i++) {
    const difference = (have[i] || 0) - (need[i] || 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}
