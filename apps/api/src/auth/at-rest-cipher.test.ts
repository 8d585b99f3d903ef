import { Sealer } from "@wxauth/wechat";
import { describe, expect, it } from "vitest";
import { AT_REST_LABELS } from "./at-rest-cipher.js";

const secret = "a-root-secret-that-is-long-enough-000";

describe("secrets at rest", () => {
  it("opens a session_key sealed before the Sealer existed (rows already in the database)", () => {
    const sealedEarlier =
      "v1.gDb2MYyeZHDZiDAk.xV2cybFk_YD1FAqItzxCAw.CWwMtDL3sV4wnY0Molbg2n2-C9t3UahJ";
    const sealer = new Sealer(secret, AT_REST_LABELS.wechatSessionKey);
    expect(sealer.open(sealedEarlier)).toBe("tiAQ4sRBSO/6dx0Zn1yE6w==");
  });
});
