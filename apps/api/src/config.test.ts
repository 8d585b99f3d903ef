import { describe, expect, it } from "vitest";
import { SANDBOX_APPID } from "@wxauth/contracts/sandbox";
import { ConfigError, DEV_JWT_SECRET, loadConfig } from "./config.js";

const productionBase = {
  NODE_ENV: "production",
  JWT_SECRET: "a-real-production-secret-of-enough-length-42",
  WECHAT_APPID: "wx1234567890abcdef",
  WECHAT_SECRET: "0123456789abcdef0123456789abcdef",
};

describe("loadConfig", () => {
  it("has working development defaults (sandbox credentials, dev secret, H5 CORS origins)", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nodeEnv: "development",
      port: 3000,
      registrationMode: "phone",
      accessTokenTtlS: 900,
      refreshTokenTtlS: 30 * 86_400,
      refreshReuseGraceS: 10,
      wechat: { appid: SANDBOX_APPID, baseUrl: "https://api.weixin.qq.com", timeoutMs: 5000 },
      corsOrigins: ["http://localhost:5173", "http://127.0.0.1:5173"],
    });
    expect(config.jwt.secret).toBe(DEV_JWT_SECRET);
    expect(config.databaseUrl).toMatch(/^file:.*apps\/api\/data\/wxauth\.db$/);
  });

  it("serves metrics only where METRICS_PORT says, and never on the API's port", () => {
    expect(loadConfig(productionBase).metricsPort).toBeUndefined();
    expect(loadConfig({ ...productionBase, METRICS_PORT: "9464" }).metricsPort).toBe(9464);
    expect(() => loadConfig({ PORT: "3000", METRICS_PORT: "3000" })).toThrow(/METRICS_PORT/);
  });

  it("accepts a complete production configuration, with CORS closed by default", () => {
    const config = loadConfig(productionBase);
    expect(config.nodeEnv).toBe("production");
    expect(config.corsOrigins).toEqual([]);
  });

  it.each([
    ["a missing JWT_SECRET", { JWT_SECRET: undefined }, /JWT_SECRET/],
    ["the dev JWT_SECRET", { JWT_SECRET: DEV_JWT_SECRET }, /JWT_SECRET/],
    ["the sandbox appid", { WECHAT_APPID: SANDBOX_APPID }, /WECHAT_APPID/],
    ["a missing WeChat secret", { WECHAT_SECRET: undefined }, /WECHAT_SECRET/],
  ])("refuses production with %s", (_name, change, message) => {
    expect(() => loadConfig({ ...productionBase, ...change })).toThrow(message);
  });

  it("reports every bad value at once, readably", () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: "eighty",
        JWT_SECRET: "short",
        REGISTRATION_MODE: "magic",
        DATABASE_URL: "mysql://x",
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const name of ["PORT", "JWT_SECRET", "REGISTRATION_MODE", "DATABASE_URL"]) {
      expect(message).toContain(`  - ${name}:`);
    }
    expect(message).toContain("at least 32 characters");
  });

  it("needs a private key for asymmetric algorithms", () => {
    expect(() => loadConfig({ JWT_ALGORITHM: "RS256" })).toThrow(/JWT_PRIVATE_KEY/);
  });

  it("treats empty variables as unset and parses lists and numbers", () => {
    const config = loadConfig({
      JWT_SECRET: "",
      CORS_ORIGINS: "https://a.example, https://b.example",
      TRUST_PROXY: "1",
      ACCESS_TOKEN_TTL_S: "600",
    });
    expect(config.jwt.secret).toBe(DEV_JWT_SECRET);
    expect(config.corsOrigins).toEqual(["https://a.example", "https://b.example"]);
    expect(config.trustProxy).toBe(1);
    expect(config.accessTokenTtlS).toBe(600);
  });
});
