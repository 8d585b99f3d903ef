/** The ways of verifying a phone this build offers, from PHONE_VERIFICATION (default both). */
export const phoneVerification = {
  button: __PHONE_VERIFICATION__ !== "sms",
  sms: __PHONE_VERIFICATION__ !== "button",
} as const;
