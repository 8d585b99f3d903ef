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
