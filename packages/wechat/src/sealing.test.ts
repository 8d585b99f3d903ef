import { createCipheriv, hkdfSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { LEGACY_KEY_ID, Sealer, dataKeyFromSecret, deriveKey, type DataKey } from "./sealing.js";

const secret = "a-root-secret-that-is-long-enough-000";
const key = (id: string): DataKey => ({ id, key: randomBytes(32) });

describe("Sealer", () => {
  it("round-trips, with a fresh IV each time, naming the key it sealed under", () => {
    const sealer = new Sealer([key("k1")], "label-a");
    const a = sealer.seal("tiAQ4sRBSO/6dx0Zn1yE6w==");
    const b = sealer.seal("tiAQ4sRBSO/6dx0Zn1yE6w==");
    expect(a).not.toBe(b);
    expect(a).not.toContain("tiAQ4sRBSO");
    expect(a.startsWith("v2.k1.")).toBe(true);
    expect(sealer.keyIdOf(a)).toBe("k1");
    expect(sealer.open(a)).toBe("tiAQ4sRBSO/6dx0Zn1yE6w==");
  });

  it("refuses another label's, another key's or a tampered value", () => {
    const k1 = key("k1");
    const sealed = new Sealer([k1], "label-a").seal("value");
    expect(() => new Sealer([k1], "label-b").open(sealed)).toThrow();
    // Same id, other bytes.
    expect(() => new Sealer([key("k1")], "label-a").open(sealed)).toThrow();
    const parts = sealed.split(".");
    parts[4] = Buffer.from("other").toString("base64url");
    expect(() => new Sealer([k1], "label-a").open(parts.join("."))).toThrow();
    expect(() => new Sealer([k1], "label-a").open("garbage")).toThrow(/format/);
    expect(() => new Sealer([k1], "label-a").open("v2..a.b.c")).toThrow(/format/);
  });

  it("seals under the first key and opens under any key of the ring", () => {
    const [old, next] = [key("old"), key("next")];
    const sealedBefore = new Sealer([old], "label").seal("before");
    const rotated = new Sealer([next, old], "label");
    expect(rotated.open(sealedBefore)).toBe("before");
    const sealedAfter = rotated.seal("after");
    expect(rotated.keyIdOf(sealedAfter)).toBe("next");
    expect(new Sealer([next], "label").open(sealedAfter)).toBe("after");
    expect(() => new Sealer([next], "label").open(sealedBefore)).toThrow(
      /"old" is not in the ring/,
    );
  });

  it("refuses an empty ring or two keys with one id", () => {
    expect(() => new Sealer([], "label")).toThrow(/empty/);
    expect(() => new Sealer([key("a"), key("a")], "label")).toThrow(/share an id/);
  });

  it("opens a v1 value (sealed from JWT_SECRET before key rings) under the legacy key", () => {
    const sealedEarlier =
      "v1.gDb2MYyeZHDZiDAk.xV2cybFk_YD1FAqItzxCAw.CWwMtDL3sV4wnY0Molbg2n2-C9t3UahJ";
    const legacy = dataKeyFromSecret(LEGACY_KEY_ID, secret);
    const ring = new Sealer([key("new"), legacy], "wechat-session-key");
    expect(ring.keyIdOf(sealedEarlier)).toBe(LEGACY_KEY_ID);
    expect(ring.open(sealedEarlier)).toBe("tiAQ4sRBSO/6dx0Zn1yE6w==");
    // Under another id the same bytes do not open it: v1 means the legacy key.
    const renamed = new Sealer([{ id: "other", key: legacy.key }], "wechat-session-key");
    expect(() => renamed.open(sealedEarlier)).toThrow(/"legacy" is not in the ring/);
  });

  it("derives from the legacy key exactly the HKDF key sealing used before key rings", () => {
    const before = Buffer.from(hkdfSync("sha256", secret, "wxauth at-rest", "some-label", 32));
    expect(deriveKey(dataKeyFromSecret(LEGACY_KEY_ID, secret), "some-label")).toEqual(before);
    // And a v1 value sealed the old way with it opens.
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", before, iv, { authTagLength: 16 });
    cipher.setAAD(Buffer.from("some-label"));
    const ciphertext = Buffer.concat([cipher.update("old value"), cipher.final()]);
    const v1 = ["v1", iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
      .join(".");
    expect(new Sealer([dataKeyFromSecret(LEGACY_KEY_ID, secret)], "some-label").open(v1)).toBe(
      "old value",
    );
  });
});
