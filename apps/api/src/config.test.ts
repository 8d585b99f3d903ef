import { describe, expect, it } from "vitest";
import { SANDBOX_APPID, SANDBOX_SMS } from "@wxauth/contracts/sandbox";
import { ConfigError, DEV_JWT_SECRET, loadConfig } from "./config.js";

const productionBase = {
  NODE_ENV: "production",
  JWT_SECRET: "a-real-production-secret-of-enough-length-42",
  WECHAT_APPID: "wx1234567890abcdef",
  WECHAT_SECRET: "0123456789abcdef0123456789abcdef",
  DATABASE_URL: "postgresql://wxauth@db.internal:5432/wxauth",
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
      accountDeletionCoolingOffS: 7 * 86_400,
      wechat: { appid: SANDBOX_APPID, baseUrl: "https://api.weixin.qq.com", timeoutMs: 5000 },
      corsOrigins: ["http://localhost:5173", "http://127.0.0.1:5173"],
    });
    expect(config.jwt.secret).toBe(DEV_JWT_SECRET);
    // The embedded PostgreSQL that `pnpm dev` starts.
    expect(config.databaseUrl).toBe("postgresql://postgres@127.0.0.1:5433/postgres");
  });

  it("needs DATABASE_URL in production, and refuses SQLite's file: URL pointing at the move", () => {
    const { DATABASE_URL: _, ...withoutDatabase } = productionBase;
    expect(() => loadConfig(withoutDatabase)).toThrow(/DATABASE_URL: production needs/);
    for (const env of [{}, productionBase]) {
      expect(() => loadConfig({ ...env, DATABASE_URL: "file:./data/wxauth.db" })).toThrow(
        /DATABASE_URL: SQLite \(a file: URL\) is no longer supported.*db:import-sqlite.*docs\/deployment\.md/,
      );
    }
  });

  it("takes the account deletion cooling-off period in seconds, 0 meaning at once", () => {
    expect(loadConfig({ ACCOUNT_DELETION_COOLING_OFF_S: "0" }).accountDeletionCoolingOffS).toBe(0);
    expect(loadConfig({ ACCOUNT_DELETION_COOLING_OFF_S: "3600" }).accountDeletionCoolingOffS).toBe(
      3600,
    );
    expect(() => loadConfig({ ACCOUNT_DELETION_COOLING_OFF_S: "-1" })).toThrow(
      /ACCOUNT_DELETION_COOLING_OFF_S/,
    );
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

  describe("SMS", () => {
    const tencentProduction = {
      ...productionBase,
      SMS_PROVIDER: "tencent",
      TENCENTCLOUD_SECRET_ID: "AKIDrealrealrealrealrealrealrealreal",
      TENCENTCLOUD_SECRET_KEY: "real-secret-key-0123456789",
      TENCENT_SMS_SDK_APP_ID: "1400123456",
      TENCENT_SMS_SIGN_NAME: "某某科技",
      TENCENT_SMS_TEMPLATE_ID: "1234567",
    };

    it("is off by default, with the issue's limits and the sandbox's credentials", () => {
      const { sms } = loadConfig({});
      expect(sms).toEqual({
        provider: "none",
        tencent: {
          secretId: SANDBOX_SMS.secretId,
          secretKey: SANDBOX_SMS.secretKey,
          sdkAppId: SANDBOX_SMS.sdkAppId,
          signName: SANDBOX_SMS.signName,
          templateId: SANDBOX_SMS.templateId,
          region: "ap-guangzhou",
          endpoint: "https://sms.tencentcloudapi.com",
          timeoutMs: 5000,
        },
        limits: {
          phoneIntervalS: 60,
          phoneDailyLimit: 10,
          subjectHourlyLimit: 5,
          ipHourlyLimit: 30,
        },
      });
    });

    it("accepts a complete Tencent configuration in production", () => {
      const { sms } = loadConfig(tencentProduction);
      expect(sms.provider).toBe("tencent");
      expect(sms.tencent).toMatchObject({ sdkAppId: "1400123456", templateId: "1234567" });
    });

    it.each([
      "TENCENTCLOUD_SECRET_ID",
      "TENCENTCLOUD_SECRET_KEY",
      "TENCENT_SMS_SDK_APP_ID",
      "TENCENT_SMS_SIGN_NAME",
      "TENCENT_SMS_TEMPLATE_ID",
    ])("refuses production with SMS_PROVIDER=tencent and no %s", (name) => {
      expect(() => loadConfig({ ...tencentProduction, [name]: undefined })).toThrow(
        new RegExp(`SMS_PROVIDER=tencent: production needs ${name}`),
      );
    });

    it("refuses the sandbox's secret key in production", () => {
      expect(() =>
        loadConfig({ ...tencentProduction, TENCENTCLOUD_SECRET_KEY: SANDBOX_SMS.secretKey }),
      ).toThrow(/TENCENTCLOUD_SECRET_KEY/);
    });

    it("starts in production without SMS variables while SMS is off", () => {
      expect(loadConfig(productionBase).sms.provider).toBe("none");
    });

    it("takes a plain http://host:port endpoint (the sandbox) and the limits from the env", () => {
      const { sms } = loadConfig({
        SMS_PROVIDER: "tencent",
        TENCENT_SMS_ENDPOINT: "http://127.0.0.1:3100",
        SMS_PHONE_INTERVAL_S: "30",
        SMS_PHONE_DAILY_LIMIT: "3",
        SMS_SUBJECT_HOURLY_LIMIT: "2",
        SMS_IP_HOURLY_LIMIT: "100",
      });
      expect(sms.tencent.endpoint).toBe("http://127.0.0.1:3100");
      expect(sms.limits).toEqual({
        phoneIntervalS: 30,
        phoneDailyLimit: 3,
        subjectHourlyLimit: 2,
        ipHourlyLimit: 100,
      });
    });

    it.each(["ftp://sms.example", "https://sms.tencentcloudapi.com/v3", "sms.tencentcloudapi.com"])(
      "refuses the endpoint %s",
      (value) => {
        expect(() => loadConfig({ TENCENT_SMS_ENDPOINT: value })).toThrow(/TENCENT_SMS_ENDPOINT/);
      },
    );

    it("refuses an unknown provider", () => {
      expect(() => loadConfig({ SMS_PROVIDER: "twilio" })).toThrow(/SMS_PROVIDER/);
    });
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
