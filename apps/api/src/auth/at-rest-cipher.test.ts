import { describe, expect, it } from "vitest";
import { AtRestCipher } from "./at-rest-cipher.js";

const secret = "a-root-secret-that-is-long-enough-000";

describe("AtRestCipher", () => {
  it("round-trips, with a fresh IV each time", () => {
    const cipher = new AtRestCipher(secret, "label-a");
    const a = cipher.encrypt("tiAQ4sRBSO/6dx0Zn1yE6w==");
    const b = cipher.encrypt("tiAQ4sRBSO/6dx0Zn1yE6w==");
    expect(a).not.toBe(b);
    expect(a).not.toContain("tiAQ4sRBSO");
    expect(cipher.decrypt(a)).toBe("tiAQ4sRBSO/6dx0Zn1yE6w==");
  });

  it("refuses another label's, another secret's or a tampered ciphertext", () => {
    const sealed = new AtRestCipher(secret, "label-a").encrypt("value");
    expect(() => new AtRestCipher(secret, "label-b").decrypt(sealed)).toThrow();
    expect(() => new AtRestCipher(`${secret}x`, "label-a").decrypt(sealed)).toThrow();
    const parts = sealed.split(".");
    parts[3] = Buffer.from("other").toString("base64url");
    expect(() => new AtRestCipher(secret, "label-a").decrypt(parts.join("."))).toThrow();
    expect(() => new AtRestCipher(secret, "label-a").decrypt("garbage")).toThrow(/format/);
  });
});
