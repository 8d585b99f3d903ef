import { describe, expect, it } from "vitest";
import {
  SANDBOX_APPID,
  SANDBOX_SECOND_APPID,
  SANDBOX_SECOND_SECRET,
  SANDBOX_SECRET,
  SANDBOX_SMS,
} from "@wxauth/contracts/sandbox";
import { ConfigError, DEV_JWT_SECRET, loadConfig } from "./config.js";
import { legacyDataKey } from "./keys/data-keys.js";

/** 32 bytes in base64url, as DATA_KEYS holds them. */
const DATA_KEY = "mR8e3G2rCqXK3N0n4nQ0w7b0JrBq0n0mYQe2H9xQy1c";

const productionBase = {
  NODE_ENV: "production",
  JWT_SECRET: "a-real-production-secret-of-enough-length-42",
  WECHAT_APPID: "wx1234567890abcdef",
  WECHAT_SECRET: "0123456789abcdef0123456789abcdef",
  DATABASE_URL: "postgresql://wxauth@db.internal:5432/wxauth",
  DATA_KEYS: `2026-12:${DATA_KEY}`,
  PUBLIC_BASE_URL: "https://api.example.com",
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
      wechat: {
        apps: [{ appid: SANDBOX_APPID, secret: SANDBOX_SECRET, name: "default" }],
        baseUrl: "https://api.weixin.qq.com",
        timeoutMs: 5000,
      },
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
    [
      "content checks on without PUBLIC_BASE_URL",
      { PUBLIC_BASE_URL: undefined },
      /PUBLIC_BASE_URL: production needs the API's public https URL when CONTENT_CHECKS is on/,
    ],
  ])("refuses production with %s", (_name, change, message) => {
    expect(() => loadConfig({ ...productionBase, ...change })).toThrow(message);
  });

  it("checks content by default; CONTENT_CHECKS=off needs no PUBLIC_BASE_URL in production", () => {
    expect(loadConfig({})).toMatchObject({ contentChecks: true, publicBaseUrl: undefined });
    expect(loadConfig(productionBase).publicBaseUrl).toBe("https://api.example.com");
    expect(
      loadConfig({ ...productionBase, PUBLIC_BASE_URL: "https://example.com/auth/" }).publicBaseUrl,
    ).toBe("https://example.com/auth");
    const off = loadConfig({
      ...productionBase,
      CONTENT_CHECKS: "off",
      PUBLIC_BASE_URL: undefined,
    });
    expect(off.contentChecks).toBe(false);
    expect(() => loadConfig({ CONTENT_CHECKS: "maybe" })).toThrow(/CONTENT_CHECKS/);
    expect(() => loadConfig({ PUBLIC_BASE_URL: "ftp://example.com" })).toThrow(/PUBLIC_BASE_URL/);
  });

  describe("WeChat apps", () => {
    const shop = { appid: "wx1111111111111111", secret: "a".repeat(32), name: "shop" };
    const staff = { appid: "wx2222222222222222", secret: "b".repeat(32), name: "staff" };
    const {
      WECHAT_APPID: _appid,
      WECHAT_SECRET: _secret,
      ...productionWithoutApp
    } = productionBase;
    const withApps = (apps: unknown, env: NodeJS.ProcessEnv = productionWithoutApp) =>
      loadConfig({ ...env, WECHAT_APPS: JSON.stringify(apps) });

    it("reads WECHAT_APPS in order, push settings included", () => {
      const pushAesKey = "A".repeat(42) + "0";
      const config = withApps([shop, { ...staff, pushToken: "token123", pushAesKey }]);
      expect(config.wechat.apps).toEqual([shop, { ...staff, pushToken: "token123", pushAesKey }]);
    });

    it("takes WECHAT_APPID + WECHAT_SECRET (+ push settings) as one app named default", () => {
      const config = loadConfig({
        ...productionBase,
        WECHAT_PUSH_TOKEN: "token123",
        WECHAT_PUSH_AES_KEY: "b".repeat(43),
      });
      expect(config.wechat.apps).toEqual([
        {
          appid: productionBase.WECHAT_APPID,
          secret: productionBase.WECHAT_SECRET,
          name: "default",
          pushToken: "token123",
          pushAesKey: "b".repeat(43),
        },
      ]);
    });

    it.each([
      ["not JSON", "[{", /WECHAT_APPS: expected a JSON array/],
      ["not an array", JSON.stringify({ appid: "wx1" }), /WECHAT_APPS: expected a JSON array of/],
      ["empty", "[]", /WECHAT_APPS: expected at least one app/],
      [
        "an entry without its secret",
        JSON.stringify([shop, { appid: "wx3", name: "x" }]),
        /WECHAT_APPS\.1\.secret/,
      ],
      [
        "a name that is not a short label",
        JSON.stringify([{ ...shop, name: "the shop" }]),
        /WECHAT_APPS\.0\.name: expected a short label/,
      ],
      [
        "an unknown field",
        JSON.stringify([{ ...shop, appsecret: "x" }]),
        /WECHAT_APPS\.0: Unrecognized key/,
      ],
      [
        "a pushAesKey that is not 43 letters and digits",
        JSON.stringify([{ ...shop, pushToken: "token123", pushAesKey: "short" }]),
        /WECHAT_APPS\.0\.pushAesKey: expected 43 letters and digits/,
      ],
      [
        "a pushAesKey without pushToken",
        JSON.stringify([{ ...shop, pushAesKey: "c".repeat(43) }]),
        /WECHAT_APPS\.0\.pushToken: pushAesKey needs a pushToken/,
      ],
    ])("refuses WECHAT_APPS that is %s, naming the entry", (_name, value, message) => {
      expect(() => loadConfig({ WECHAT_APPS: value })).toThrow(message);
    });

    it("refuses a duplicate appid or name, naming the entry", () => {
      expect(() => withApps([shop, { ...staff, appid: shop.appid }], {})).toThrow(
        /WECHAT_APPS\[1\] \("staff"\): the appid wx1111111111111111 is already another entry's/,
      );
      expect(() => withApps([shop, { ...staff, name: "shop" }], {})).toThrow(
        /WECHAT_APPS\[1\] \("shop"\): the name "shop" is already another entry's/,
      );
    });

    it("refuses either sandbox app's secret or appid in any entry in production, naming it", () => {
      expect(() => withApps([shop, { ...staff, secret: SANDBOX_SECOND_SECRET }])).toThrow(
        /WECHAT_APPS\[1\] \("staff"\): production needs the mini program's real AppSecret/,
      );
      expect(() => withApps([{ ...shop, secret: SANDBOX_SECRET }, staff])).toThrow(
        /WECHAT_APPS\[0\] \("shop"\): production needs the mini program's real AppSecret/,
      );
      expect(() => withApps([shop, { ...staff, appid: SANDBOX_SECOND_APPID }])).toThrow(
        /WECHAT_APPS\[1\] \("staff"\): production needs the mini program's real appid/,
      );
      expect(() => loadConfig({ ...productionBase, WECHAT_SECRET: SANDBOX_SECOND_SECRET })).toThrow(
        /WECHAT_SECRET: production needs the mini program's real AppSecret/,
      );
      // Outside production the sandbox's two apps are the defaults of `pnpm dev`.
      expect(
        withApps(
          [
            { appid: SANDBOX_APPID, secret: SANDBOX_SECRET, name: "shop" },
            { appid: SANDBOX_SECOND_APPID, secret: SANDBOX_SECOND_SECRET, name: "staff" },
          ],
          {},
        ).wechat.apps,
      ).toHaveLength(2);
    });

    it("refuses a push Token without its EncodingAESKey in production (plaintext pushes)", () => {
      const pushAesKey = "a".repeat(43);
      expect(() => withApps([shop, { ...staff, pushToken: "token123" }])).toThrow(
        /WECHAT_APPS\[1\] \("staff"\): production needs the EncodingAESKey \(safe mode\)/,
      );
      expect(() => loadConfig({ ...productionBase, WECHAT_PUSH_TOKEN: "token123" })).toThrow(
        /WECHAT_PUSH_AES_KEY: production needs the EncodingAESKey \(safe mode\)/,
      );
      expect(withApps([shop, { ...staff, pushToken: "token123", pushAesKey }]).wechat.apps).toEqual(
        [shop, { ...staff, pushToken: "token123", pushAesKey }],
      );
      // Outside production plaintext mode stays available (the sandbox's first app uses it).
      expect(withApps([{ ...shop, pushToken: "token123" }], {}).wechat.apps).toHaveLength(1);
    });

    it("refuses WECHAT_APPS together with WECHAT_APPID", () => {
      expect(() => withApps([shop], productionBase)).toThrow(
        /set either WECHAT_APPS or WECHAT_APPID, WECHAT_SECRET \(one app\), not both/,
      );
    });
  });

  describe("keys", () => {
    it("derives the development data key ring from JWT_SECRET, as before DATA_KEYS", () => {
      const { dataKeys } = loadConfig({ JWT_SECRET: "a-development-secret-of-enough-length-1" });
      expect(dataKeys).toEqual([legacyDataKey("a-development-secret-of-enough-length-1")]);
      expect(loadConfig({}).dataKeys).toEqual([legacyDataKey(DEV_JWT_SECRET)]);
    });

    it("reads DATA_KEYS as a ring, first key first", () => {
      const other = Buffer.alloc(32, 7).toString("base64url");
      const { dataKeys } = loadConfig({ DATA_KEYS: `new:${DATA_KEY}, legacy:${other}` });
      expect(dataKeys.map(({ id }) => id)).toEqual(["new", "legacy"]);
      expect(Buffer.from(dataKeys[0]!.key).toString("base64url")).toBe(DATA_KEY);
    });

    it("refuses production without DATA_KEYS, naming it and the way to keep old data", () => {
      expect(() => loadConfig({ ...productionBase, DATA_KEYS: undefined })).toThrow(
        /DATA_KEYS: production needs .*keys:legacy/,
      );
    });

    /** 32 characters: as bytes, a data key's size. */
    const secret32 = "a-production-secret-of-32-chars!";
    it.each([
      ["as its text", DATA_KEY, DATA_KEY],
      ["as its bytes", secret32, Buffer.from(secret32).toString("base64url")],
    ])("refuses a data key that is the token secret %s, naming both", (_name, jwtSecret, key) => {
      expect(() =>
        loadConfig({ ...productionBase, JWT_SECRET: jwtSecret, DATA_KEYS: `k:${key}` }),
      ).toThrow(/DATA_KEYS: the key "k" is also a token secret \(JWT_SECRET\)/);
    });

    it("refuses a data key that is a previous token secret", () => {
      expect(() =>
        loadConfig({
          ...productionBase,
          JWT_PREVIOUS_KEYS: JSON.stringify([{ kid: "old", secret: DATA_KEY }]),
        }),
      ).toThrow(/DATA_KEYS: the key "2026-12" is also a token secret \(JWT_PREVIOUS_KEYS\)/);
    });

    it.each([
      ["no id", DATA_KEY],
      ["an id with a dot", `a.b:${DATA_KEY}`],
      ["a short key", "k:c2hvcnQ"],
      ["a key that is not base64url", `k:${DATA_KEY.slice(0, 42)}+`],
      ["an id used twice", `k:${DATA_KEY},k:${DATA_KEY}`],
      ["nothing but commas", ",,"],
    ])("refuses DATA_KEYS with %s, naming the variable and never the key", (_name, value) => {
      let message = "";
      try {
        loadConfig({ DATA_KEYS: value });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/ - DATA_KEYS: /);
      expect(message).not.toContain(DATA_KEY);
    });

    it("reads JWT_PREVIOUS_KEYS: secrets and PEM public keys, each with its kid", () => {
      const { jwt } = loadConfig({
        JWT_PREVIOUS_KEYS: JSON.stringify([
          { kid: "hs-old", secret: "an-old-secret-of-at-least-32-characters" },
          {
            kid: "rs-old",
            publicKey: "-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----",
          },
        ]),
      });
      expect(jwt.previousKeys).toEqual([
        { kid: "hs-old", secret: "an-old-secret-of-at-least-32-characters" },
        { kid: "rs-old", publicKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" },
      ]);
    });

    it.each([
      ["not JSON", "[{kid: old}]"],
      ["not an array", JSON.stringify({ kid: "old", secret: "x".repeat(40) })],
      ["a key without kid", JSON.stringify([{ secret: "x".repeat(40) }])],
      ["a short secret", JSON.stringify([{ kid: "old", secret: "short" }])],
      [
        "a private key",
        JSON.stringify([{ kid: "old", privateKey: "-----BEGIN PRIVATE KEY-----" }]),
      ],
      ["a public key that is no PEM", JSON.stringify([{ kid: "old", publicKey: "abc" }])],
    ])("refuses JWT_PREVIOUS_KEYS with %s, naming the variable", (_name, value) => {
      expect(() => loadConfig({ JWT_PREVIOUS_KEYS: value })).toThrow(/ - JWT_PREVIOUS_KEYS/);
    });

    it("needs no JWT_SECRET in production when tokens are signed with RS256", () => {
      const config = loadConfig({
        ...productionBase,
        JWT_SECRET: undefined,
        JWT_ALGORITHM: "RS256",
        JWT_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----",
      });
      expect(config.jwt.algorithm).toBe("RS256");
    });
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
