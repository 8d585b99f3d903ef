import { describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { createAtRestSealers } from "./at-rest-cipher.js";

const secret = "a-root-secret-that-is-long-enough-000";

describe("secrets at rest", () => {
  it("opens a session_key sealed before key rings under the ring development derives from JWT_SECRET", () => {
    const sealedEarlier =
      "v1.gDb2MYyeZHDZiDAk.xV2cybFk_YD1FAqItzxCAw.CWwMtDL3sV4wnY0Molbg2n2-C9t3UahJ";
    const { dataKeys } = loadConfig({ NODE_ENV: "development", JWT_SECRET: secret });
    const sealers = createAtRestSealers(dataKeys);
    expect(sealers.wechatSessionKey.open(sealedEarlier)).toBe("tiAQ4sRBSO/6dx0Zn1yE6w==");
    // One key per kind: the successor's sealer cannot open a session_key.
    expect(() => sealers.refreshTokenSuccessor.open(sealedEarlier)).toThrow();
  });
});
