import * as z from "zod/mini";

/**
 * Masks a phone number for display and logs. Mainland numbers show as `138****8000`; other
 * numbers mask their E.164 digits the same way (`+85251234567` → `852****4567`), and short
 * numbers keep two digits at each end.
 */
export function maskPhone(phone: string): string {
  const digits = phone.startsWith("+86") ? phone.slice(3) : phone.replace(/^\+/, "");
  if (digits.length >= 11) return `${digits.slice(0, 3)}****${digits.slice(-4)}`;
  if (digits.length >= 6) return `${digits.slice(0, 2)}****${digits.slice(-2)}`;
  return "****";
}

/** A mainland China mobile number as people type it: 11 digits starting with 13-19. */
const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;
/** E.164: a plus, a country code that does not start with 0, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * The E.164 form of a phone number typed for an SMS code, or undefined when no SMS can go to it.
 * Accepts `+8613800138000`, `13800138000` (a mainland mobile) and other E.164 numbers such as
 * `+85251234567`. A `+86` number must be a mainland mobile, since only those receive the code.
 */
export function normalizePhone(input: string): string | undefined {
  if (MAINLAND_MOBILE.test(input)) return `+86${input}`;
  if (!E164.test(input)) return undefined;
  if (input.startsWith("+86") && !MAINLAND_MOBILE.test(input.slice(3))) return undefined;
  return input;
}

/**
 * A phone typed for an SMS code, in any form `normalizePhone` accepts. The server stores and
 * compares the normalised E.164 form.
 */
export const PhoneInputSchema = z.string().check(
  z.maxLength(16),
  z.refine((value) => normalizePhone(value) !== undefined, {
    message: "expected a mobile number such as 13800138000 or +8613800138000",
  }),
);
