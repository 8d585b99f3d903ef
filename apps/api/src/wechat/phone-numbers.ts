import type { LogSecurityEvent } from "../security-events/security-events.js";
import type { WechatApp } from "./apps.js";

/** What a phone lookup is for, as the console's spend shows it. */
export type PhoneLookupPurpose = "register" | "change-phone";

/**
 * The phone (E.164) a getPhoneNumber code proves, redeemed with the app that issued the code, for
 * the user's openid in that app. WeChat bills each lookup: every one that succeeds writes
 * `phone_number_fetched`, which the console's spend counts.
 */
export async function fetchPhoneNumber(
  logSecurityEvent: LogSecurityEvent,
  app: WechatApp,
  lookup: {
    phoneCode: string;
    openid: string;
    purpose: PhoneLookupPurpose;
    userId: string | null;
    requestId: string | null;
  },
): Promise<string> {
  const phone = await app.client.getPhoneNumber(lookup.phoneCode, lookup.openid);
  await logSecurityEvent("phone_number_fetched", {
    userId: lookup.userId,
    requestId: lookup.requestId,
    details: { purpose: lookup.purpose, appid: app.appid },
  });
  return phone.e164;
}
