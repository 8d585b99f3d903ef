import { describe, expect, it } from "vitest";
import { Sealer } from "./sealing.js";

const secret = "a-root-secret-that-is-long-enough-000";

describe("Sealer", () => {
  it("round-trips, with a fresh IV each time", () => {
    const sealer = new Sealer(secret, "label-a");
    const a = sealer.seal("tiAQ4sRBSO/6dx0Zn1yE6w==");
    const b = sealer.seal("tiAQ4sRBSO/6dx0Zn1yE6w==");
    expect(a).not.toBe(b);
    expect(a).not.toContain("tiAQ4sRBSO");
    expect(sealer.open(a)).toBe("tiAQ4sRBSO/6dx0Zn1yE6w==");
  });

  it("refuses another label's, another key material's or a tampered value", () => {
    const sealed = new Sealer(secret, "label-a").seal("value");
    expect(() => new Sealer(secret, "label-b").open(sealed)).toThrow();
    expect(() => new Sealer(`${secret}x`, "label-a").open(sealed)).toThrow();
    const parts = sealed.split(".");
    parts[3] = Buffer.from("other").toString("base64url");
    expect(() => new Sealer(secret, "label-a").open(parts.join("."))).toThrow();
    expect(() => new Sealer(secret, "label-a").open("garbage")).toThrow(/format/);
  });
});
