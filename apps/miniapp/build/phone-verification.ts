/** The ways of verifying a phone a build can offer (PHONE_VERIFICATION). */
export const PHONE_VERIFICATION_CHOICES = ["button", "sms", "both"] as const;
export type PhoneVerification = (typeof PHONE_VERIFICATION_CHOICES)[number];

/**
 * PHONE_VERIFICATION as the build reads it: `button` (WeChat's getPhoneNumber button), `sms` (an
 * SMS code; for a mini program that may not use the button) or `both`, the default. Any other
 * value stops the build, so a typo never ships a login page without the intended way.
 */
export function phoneVerificationFromEnv(value: string | undefined): PhoneVerification {
  if (value === undefined || value === "") return "both";
  const choice = PHONE_VERIFICATION_CHOICES.find((candidate) => candidate === value);
  if (choice === undefined) {
    throw new Error(`PHONE_VERIFICATION must be button, sms or both, not "${value}"`);
  }
  return choice;
}
