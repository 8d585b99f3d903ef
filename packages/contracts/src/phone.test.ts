import { describe, expect, it } from "vitest";
import { normalizePhone, PhoneInputSchema } from "./phone.js";

describe("normalizePhone", () => {
  it.each([
    ["+8613800138000", "+8613800138000"],
    ["13800138000", "+8613800138000"],
    ["19912345678", "+8619912345678"],
    ["+85251234567", "+85251234567"],
    ["+14155552671", "+14155552671"],
    ["+886912345678", "+886912345678"],
  ])("normalises %s to %s", (input, e164) => {
    expect(normalizePhone(input)).toBe(e164);
  });

  it.each([
    ["", "empty"],
    ["12800138000", "not a mainland mobile prefix"],
    ["1380013800", "ten digits"],
    ["138001380001", "twelve digits"],
    ["+86 138 0013 8000", "spaces"],
    ["+861380013800", "a +86 number that is not a mobile"],
    ["+8602112345678", "a +86 landline"],
    ["+0123456789", "country code 0"],
    ["+1234567890123456", "longer than E.164 allows"],
    ["85251234567", "foreign digits without a plus"],
    ["+8613800138000\n", "a trailing newline"],
  ])("refuses %j (%s)", (input) => {
    expect(normalizePhone(input)).toBeUndefined();
  });
});

describe("PhoneInputSchema", () => {
  it("accepts what normalizePhone accepts and explains a refusal", () => {
    expect(PhoneInputSchema.parse("13800138000")).toBe("13800138000");
    const refused = PhoneInputSchema.safeParse("0138");
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toMatch(/13800138000/);
  });
});
