import { describe, expect, it } from "vitest";
import { phoneVerificationFromEnv } from "./phone-verification";

describe("PHONE_VERIFICATION", () => {
  it("offers both ways unless told otherwise", () => {
    expect(phoneVerificationFromEnv(undefined)).toBe("both");
    expect(phoneVerificationFromEnv("")).toBe("both");
  });

  it.each(["button", "sms", "both"] as const)("takes %s", (choice) => {
    expect(phoneVerificationFromEnv(choice)).toBe(choice);
  });

  it("stops the build on anything else, naming the variable", () => {
    for (const value of ["SMS", "none", "button,sms"]) {
      expect(() => phoneVerificationFromEnv(value)).toThrow(/PHONE_VERIFICATION/);
    }
  });
});
