import path from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_ACCOUNT_DELETION_COOLING_OFF_S } from "@wxauth/contracts";
import {
  SANDBOX_APPID,
  SANDBOX_SECOND_APPID,
  SANDBOX_SECOND_SECRET,
  SANDBOX_SECRET,
  SANDBOX_SMS,
} from "@wxauth/contracts/sandbox";
import { z } from "zod";
import { DEV_DATABASE_URL } from "./db/database-url.js";
import { isSameKey, legacyDataKey, parseDataKeys } from "./keys/data-keys.js";

/** apps/api, whether this runs from src/ (tsx, vitest) or from the bundled dist/main.js. */
export const API_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** A development-only secret. Production refuses to start with it (or without any secret). */
export const DEV_JWT_SECRET = "wxauth-dev-only-jwt-secret-never-use-in-production";
const DEV_CORS_ORIGINS = "http://localhost:5173,http://127.0.0.1:5173";

/** What a `file:` DATABASE_URL, the SQLite of earlier versions, is told at start. */
export const SQLITE_NO_LONGER_SUPPORTED =
  "SQLite (a file: URL) is no longer supported: the API runs on PostgreSQL only. Move the SQLite " +
  "database's data into PostgreSQL with `pnpm --filter @wxauth/api db:import-sqlite <file.db>` " +
  '(docs/deployment.md, "Moving from SQLite"), then set DATABASE_URL to the postgresql:// URL';

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const csv = z
  .string()
  .transform((value) =>
    value
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.url()));

/** Express's `trust proxy`: true/false, a hop count, or addresses/subnets (comma-separated). */
const trustProxy = z.string().transform((value): boolean | number | string => {
  const trimmed = value.trim();
  if (trimmed === "true") return true;
  if (trimmed === "false" || trimmed === "") return false;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  return trimmed;
});

/** Tencent Cloud's API endpoint: https (or http, for the sandbox) with a host and nothing after. */
const endpoint = z
  .url()
  .refine(
    (value) => /^https?:\/\/[^/?#]+\/?$/.test(value),
    "expected https://host or http://host:port, without a path",
  );

/** DATA_KEYS: `id:key,id:key,…`, the first key sealing. */
const dataKeys = z.string().transform((value, context) => {
  const parsed = parseDataKeys(value);
  if (!("problem" in parsed)) return parsed;
  context.addIssue({ code: "custom", message: parsed.problem });
  return z.NEVER;
});

/** JWT_PREVIOUS_KEYS: a JSON array of keys that still verify access tokens and never sign. */
const previousTokenKeys = z
  .string()
  .transform((value, context) => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      context.addIssue({ code: "custom", message: "expected a JSON array" });
      return z.NEVER;
    }
  })
  .pipe(
    z.array(
      z.union(
        [
          z.strictObject({
            kid: z.string().min(1).max(128),
            secret: z.string().min(32, "must be at least 32 characters"),
          }),
          z.strictObject({
            kid: z.string().min(1).max(128),
            publicKey: z.string().includes("PUBLIC KEY", { message: "expected a PEM public key" }),
          }),
        ],
        { error: 'expected {"kid","secret"} (HS256) or {"kid","publicKey"} (PEM)' },
      ),
      { error: 'expected a JSON array of {"kid","secret"} or {"kid","publicKey"}' },
    ),
  );

/** WeChat's message push Token: 3 to 32 letters and digits. */
const pushToken = z.string().regex(/^[A-Za-z0-9]{3,32}$/, "expected 3 to 32 letters and digits");
/** WeChat's EncodingAESKey: 43 letters and digits (a 32-byte key once "=" is appended). */
const pushAesKey = z.string().regex(/^[A-Za-z0-9]{43}$/, "expected 43 letters and digits");

/** One mini program the API serves: an entry of WECHAT_APPS. */
const wechatApp = z
  .strictObject({
    appid: z.string().regex(/^\S{1,64}$/, "expected the mini program's appid"),
    secret: z.string().min(1),
    /** A short label (`shop`): the `app` label of the metrics, and what /api/me shows. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/, "expected a short label: letters, digits, - or _"),
    /** For WeChat's message push to this app (Token and EncodingAESKey), when configured. */
    pushToken: pushToken.optional(),
    pushAesKey: pushAesKey.optional(),
  })
  .refine((app) => app.pushAesKey === undefined || app.pushToken !== undefined, {
    message: "pushAesKey needs a pushToken",
    path: ["pushToken"],
  });
export type WechatAppConfig = z.output<typeof wechatApp>;

/** WECHAT_APPS: a JSON array of apps, the first being the one the API served before (adoption). */
const wechatApps = z
  .string()
  .transform((value, context) => {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      context.addIssue({ code: "custom", message: "expected a JSON array" });
      return z.NEVER;
    }
  })
  .pipe(
    z
      .array(wechatApp, { error: 'expected a JSON array of {"appid","secret","name"}' })
      .min(1, "expected at least one app"),
  );

/** The sandbox's credentials (both of its default apps): production refuses every one. */
const SANDBOX_APPIDS: ReadonlySet<string> = new Set([SANDBOX_APPID, SANDBOX_SECOND_APPID]);
const SANDBOX_SECRETS: ReadonlySet<string> = new Set([SANDBOX_SECRET, SANDBOX_SECOND_SECRET]);

/**
 * In plaintext mode WeChat's push signature covers the Token, timestamp and nonce but not the body,
 * so one signed push URL seen anywhere (a proxy's access log) would carry any body, an account's
 * deletion by user_authorization_cancellation included. Production takes safe mode only.
 */
const PLAINTEXT_PUSH_REFUSED =
  "production needs the EncodingAESKey (safe mode) with a push Token: a plaintext push's signature does not cover its body";

/**
 * Problems with the configured apps: a duplicate appid or name always, the sandbox's appids or
 * secrets in production. Each names its entry.
 */
function wechatAppProblems(
  apps: readonly WechatAppConfig[],
  variable: string,
  production: boolean,
): string[] {
  const problems: string[] = [];
  const entry = (index: number) =>
    variable === "WECHAT_APPS" ? `WECHAT_APPS[${index}] ("${apps[index]?.name}")` : variable;
  apps.forEach((app, index) => {
    const earlier = apps.slice(0, index);
    if (earlier.some((other) => other.appid === app.appid)) {
      problems.push(`${entry(index)}: the appid ${app.appid} is already another entry's`);
    }
    if (earlier.some((other) => other.name === app.name)) {
      problems.push(`${entry(index)}: the name "${app.name}" is already another entry's`);
    }
    if (production && SANDBOX_APPIDS.has(app.appid)) {
      problems.push(
        `${entry(index)}: production needs the mini program's real appid, not the sandbox's`,
      );
    }
    if (production && SANDBOX_SECRETS.has(app.secret)) {
      problems.push(
        `${entry(index)}: production needs the mini program's real AppSecret, not the sandbox's`,
      );
    }
    if (production && app.pushToken !== undefined && app.pushAesKey === undefined) {
      problems.push(`${entry(index)}: ${PLAINTEXT_PUSH_REFUSED}`);
    }
  });
  return problems;
}

const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  HOST: z.string().min(1).default("0.0.0.0"),
  PORT: integer(0, 65_535).default(3000),
  METRICS_PORT: integer(0, 65_535).optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATABASE_URL: z
    .string()
    .refine((url) => !url.startsWith("file:"), SQLITE_NO_LONGER_SUPPORTED)
    .refine(
      (url) => url.startsWith("file:") || /^postgres(ql)?:\/\//i.test(url),
      "expected a postgresql:// URL",
    )
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "expected a redis:// or rediss:// URL")
    .optional(),
  REDIS_KEY_PREFIX: z.string().min(1).max(100).optional(),
  JWT_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  JWT_ALGORITHM: z.enum(["HS256", "RS256", "ES256"]).default("HS256"),
  JWT_PRIVATE_KEY: z.string().optional(),
  JWT_KEY_ID: z.string().min(1).max(128).optional(),
  JWT_PREVIOUS_KEYS: previousTokenKeys.optional(),
  DATA_KEYS: dataKeys.optional(),
  JWT_ISSUER: z.string().min(1).default("wxauth"),
  JWT_AUDIENCE: z.string().min(1).default("wxauth"),
  WECHAT_APPS: wechatApps.optional(),
  WECHAT_APPID: z.string().min(1).optional(),
  WECHAT_SECRET: z.string().min(1).optional(),
  WECHAT_PUSH_TOKEN: pushToken.optional(),
  WECHAT_PUSH_AES_KEY: pushAesKey.optional(),
  WECHAT_API_BASE_URL: z.url().default("https://api.weixin.qq.com"),
  WECHAT_TIMEOUT_MS: integer(100, 60_000).default(5000),
  CONTENT_CHECKS: z.enum(["on", "off"]).default("on"),
  PUBLIC_BASE_URL: z
    .url({ protocol: /^https?$/, error: "expected the API's public http(s) URL" })
    .transform((url) => url.replace(/\/+$/, ""))
    .optional(),
  REGISTRATION_MODE: z.enum(["phone", "auto"]).default("phone"),
  ACCESS_TOKEN_TTL_S: integer(30, 86_400).default(900),
  REFRESH_TOKEN_TTL_S: integer(60, 365 * 86_400).default(30 * 86_400),
  REFRESH_REUSE_GRACE_S: integer(0, 300).default(10),
  ACCOUNT_DELETION_COOLING_OFF_S: integer(0, 365 * 86_400).default(
    DEFAULT_ACCOUNT_DELETION_COOLING_OFF_S,
  ),
  AUTH_RATE_LIMIT_PER_MINUTE: integer(1, 1_000_000).default(120),
  SMS_PROVIDER: z.enum(["tencent", "none"]).default("none"),
  TENCENTCLOUD_SECRET_ID: z.string().min(1).optional(),
  TENCENTCLOUD_SECRET_KEY: z.string().min(1).optional(),
  TENCENT_SMS_SDK_APP_ID: z.string().min(1).optional(),
  TENCENT_SMS_SIGN_NAME: z.string().min(1).optional(),
  TENCENT_SMS_TEMPLATE_ID: z.string().min(1).optional(),
  TENCENT_SMS_REGION: z.string().min(1).default("ap-guangzhou"),
  TENCENT_SMS_ENDPOINT: endpoint.default("https://sms.tencentcloudapi.com"),
  TENCENT_SMS_TIMEOUT_MS: integer(100, 60_000).default(5000),
  SMS_PHONE_INTERVAL_S: integer(1, 86_400).default(60),
  SMS_PHONE_DAILY_LIMIT: integer(1, 1000).default(10),
  SMS_SUBJECT_HOURLY_LIMIT: integer(1, 1000).default(5),
  SMS_IP_HOURLY_LIMIT: integer(1, 1_000_000).default(30),
  ADMIN_CONSOLE_DIR: z.string().min(1).optional(),
  PHONE_LOOKUP_PRICE_CNY: z.coerce.number().min(0).max(100).default(0.03),
  SMS_PRICE_CNY: z.coerce.number().min(0).max(100).default(0.045),
  CORS_ORIGINS: csv.optional(),
  TRUST_PROXY: trustProxy.default(false),
});

export type Env = z.input<typeof EnvSchema>;

/** The variables Tencent Cloud SMS needs, each with the sandbox's value outside production. */
const TENCENT_SMS_VARIABLES = {
  TENCENTCLOUD_SECRET_ID: SANDBOX_SMS.secretId,
  TENCENTCLOUD_SECRET_KEY: SANDBOX_SMS.secretKey,
  TENCENT_SMS_SDK_APP_ID: SANDBOX_SMS.sdkAppId,
  TENCENT_SMS_SIGN_NAME: SANDBOX_SMS.signName,
  TENCENT_SMS_TEMPLATE_ID: SANDBOX_SMS.templateId,
} as const;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Parses the environment once, at boot. Every problem is reported at once, one per line, and
 * production refuses the development defaults (JWT secret, sandbox credentials).
 */
export function loadConfig(env: NodeJS.ProcessEnv | Env = process.env) {
  // An empty variable (`FOO=` in a .env file) means "not set", not "set to the empty string".
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid configuration:\n${parsed.error.issues
        .map((issue) => `  - ${issue.path.join(".") || "(env)"}: ${issue.message}`)
        .join("\n")}`,
    );
  }
  const e = parsed.data;
  const production = e.NODE_ENV === "production";
  const problems: string[] = [];

  if (
    production &&
    e.JWT_ALGORITHM === "HS256" &&
    (!e.JWT_SECRET || e.JWT_SECRET === DEV_JWT_SECRET)
  ) {
    problems.push("JWT_SECRET: production needs a secret of at least 32 random characters");
  }
  if (production && !e.DATA_KEYS) {
    problems.push(
      "DATA_KEYS: production needs its own data keys (id:key,…); to keep reading what is sealed so far, append the key `pnpm --filter @wxauth/api keys:legacy` prints (docs/deployment.md)",
    );
  }
  if (production && !e.DATABASE_URL) {
    problems.push("DATABASE_URL: production needs the PostgreSQL database's postgresql:// URL");
  }
  const tokenSecrets = [
    ["JWT_SECRET", e.JWT_SECRET],
    ...(e.JWT_PREVIOUS_KEYS ?? []).map((key) => [
      "JWT_PREVIOUS_KEYS",
      "secret" in key ? key.secret : undefined,
    ]),
  ] as const;
  for (const dataKey of e.DATA_KEYS ?? []) {
    for (const [variable, secret] of tokenSecrets) {
      if (secret !== undefined && isSameKey(dataKey, secret)) {
        problems.push(
          `DATA_KEYS: the key "${dataKey.id}" is also a token secret (${variable}); data keys and token keys must differ`,
        );
      }
    }
  }
  const singleAppVariables = (
    ["WECHAT_APPID", "WECHAT_SECRET", "WECHAT_PUSH_TOKEN", "WECHAT_PUSH_AES_KEY"] as const
  ).filter((name) => e[name] !== undefined);
  let wechatAppsConfigured: WechatAppConfig[];
  if (e.WECHAT_APPS) {
    if (singleAppVariables.length > 0) {
      problems.push(
        `WECHAT_APPS: set either WECHAT_APPS or ${singleAppVariables.join(", ")} (one app), not both`,
      );
    }
    wechatAppsConfigured = e.WECHAT_APPS;
    problems.push(...wechatAppProblems(e.WECHAT_APPS, "WECHAT_APPS", production));
  } else {
    // WECHAT_APPID + WECHAT_SECRET: one app, named `default`.
    if (production && !e.WECHAT_APPID) {
      problems.push(
        "WECHAT_APPID: production needs the mini program's real appid (or WECHAT_APPS)",
      );
    }
    if (production && !e.WECHAT_SECRET) {
      problems.push(
        "WECHAT_SECRET: production needs the mini program's real AppSecret (or WECHAT_APPS)",
      );
    }
    if (e.WECHAT_PUSH_AES_KEY !== undefined && e.WECHAT_PUSH_TOKEN === undefined) {
      problems.push("WECHAT_PUSH_TOKEN: WECHAT_PUSH_AES_KEY needs a push Token");
    }
    if (production && e.WECHAT_PUSH_TOKEN !== undefined && e.WECHAT_PUSH_AES_KEY === undefined) {
      problems.push(`WECHAT_PUSH_AES_KEY: ${PLAINTEXT_PUSH_REFUSED}`);
    }
    wechatAppsConfigured = [
      {
        appid: e.WECHAT_APPID ?? SANDBOX_APPID,
        secret: e.WECHAT_SECRET ?? SANDBOX_SECRET,
        name: "default",
        pushToken: e.WECHAT_PUSH_TOKEN,
        pushAesKey: e.WECHAT_PUSH_AES_KEY,
      },
    ];
    if (production && e.WECHAT_APPID && SANDBOX_APPIDS.has(e.WECHAT_APPID)) {
      problems.push("WECHAT_APPID: production needs the mini program's real appid");
    }
    if (production && e.WECHAT_SECRET && SANDBOX_SECRETS.has(e.WECHAT_SECRET)) {
      problems.push("WECHAT_SECRET: production needs the mini program's real AppSecret");
    }
  }
  if (production && e.CONTENT_CHECKS === "on" && !e.PUBLIC_BASE_URL) {
    problems.push(
      "PUBLIC_BASE_URL: production needs the API's public https URL when CONTENT_CHECKS is on (WeChat fetches avatars from it to check them)",
    );
  }
  if (production && e.SMS_PROVIDER === "tencent") {
    const missing = Object.keys(TENCENT_SMS_VARIABLES).filter(
      (name) => e[name as keyof typeof TENCENT_SMS_VARIABLES] === undefined,
    );
    if (missing.length > 0) {
      problems.push(`SMS_PROVIDER=tencent: production needs ${missing.join(", ")}`);
    }
    if (e.TENCENTCLOUD_SECRET_KEY === SANDBOX_SMS.secretKey) {
      problems.push("TENCENTCLOUD_SECRET_KEY: production needs the real key, not the sandbox's");
    }
  }
  if (e.JWT_ALGORITHM !== "HS256" && !e.JWT_PRIVATE_KEY) {
    problems.push(`JWT_PRIVATE_KEY: ${e.JWT_ALGORITHM} needs a PEM private key`);
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    problems.push(
      "METRICS_PORT: must differ from PORT (metrics are never served on the API's port)",
    );
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }

  return {
    nodeEnv: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    /** Where `GET /metrics` is served, on HOST; unset: nowhere. Never the API's own port. */
    metricsPort: e.METRICS_PORT,
    logLevel: e.LOG_LEVEL,
    /** Unset outside production: the embedded PostgreSQL that `pnpm dev` starts. */
    databaseUrl: e.DATABASE_URL ?? DEV_DATABASE_URL,
    redisUrl: e.REDIS_URL,
    /** Namespaces every Redis key, so several deployments (or test runs) can share one Redis. */
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    jwt: {
      algorithm: e.JWT_ALGORITHM,
      /** The HS256 key (unused for RS256/ES256). */
      secret: e.JWT_SECRET ?? DEV_JWT_SECRET,
      // Platforms that cannot hold multi-line variables pass PEMs with literal "\n".
      privateKeyPem: e.JWT_PRIVATE_KEY?.replace(/\\n/g, "\n"),
      keyId: e.JWT_KEY_ID,
      /** Keys that still verify (a rotated-out key, or the next one announced) and never sign. */
      previousKeys: (e.JWT_PREVIOUS_KEYS ?? []).map((key) =>
        "publicKey" in key ? { ...key, publicKey: key.publicKey.replace(/\\n/g, "\n") } : key,
      ),
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
    },
    wechat: {
      /**
       * The mini programs served, at least one. The first is the app the deployment served before
       * it knew several: rows from then are adopted for it at start (wechat/adopt-unadopted.ts).
       */
      apps: wechatAppsConfigured,
      baseUrl: e.WECHAT_API_BASE_URL,
      timeoutMs: e.WECHAT_TIMEOUT_MS,
    },
    /**
     * WeChat's content checks of nicknames (msgSecCheck) and avatars (mediaCheckAsync); `off`
     * makes no content-check call at all.
     */
    contentChecks: e.CONTENT_CHECKS === "on",
    /**
     * The API's address as the internet reaches it, without a trailing slash: where WeChat fetches
     * an avatar to check it. Unset (outside production): the address each upload came in on.
     */
    publicBaseUrl: e.PUBLIC_BASE_URL,
    /**
     * The data key ring: the first key seals, every key opens. Without DATA_KEYS (development and
     * tests only) the one key JWT_SECRET derives, as before key rings.
     */
    dataKeys: e.DATA_KEYS ?? [legacyDataKey(e.JWT_SECRET ?? DEV_JWT_SECRET)],
    registrationMode: e.REGISTRATION_MODE,
    sms: {
      /** `none` switches SMS off: every send answers SMS_UNAVAILABLE. */
      provider: e.SMS_PROVIDER,
      tencent: {
        secretId: e.TENCENTCLOUD_SECRET_ID ?? TENCENT_SMS_VARIABLES.TENCENTCLOUD_SECRET_ID,
        secretKey: e.TENCENTCLOUD_SECRET_KEY ?? TENCENT_SMS_VARIABLES.TENCENTCLOUD_SECRET_KEY,
        sdkAppId: e.TENCENT_SMS_SDK_APP_ID ?? TENCENT_SMS_VARIABLES.TENCENT_SMS_SDK_APP_ID,
        signName: e.TENCENT_SMS_SIGN_NAME ?? TENCENT_SMS_VARIABLES.TENCENT_SMS_SIGN_NAME,
        templateId: e.TENCENT_SMS_TEMPLATE_ID ?? TENCENT_SMS_VARIABLES.TENCENT_SMS_TEMPLATE_ID,
        region: e.TENCENT_SMS_REGION,
        /** `https://sms.tencentcloudapi.com`, or `http://127.0.0.1:3100` for the sandbox. */
        endpoint: e.TENCENT_SMS_ENDPOINT,
        timeoutMs: e.TENCENT_SMS_TIMEOUT_MS,
      },
      /** The abuse limits, counted in the shared store. */
      limits: {
        /** One code per phone per this many seconds. */
        phoneIntervalS: e.SMS_PHONE_INTERVAL_S,
        phoneDailyLimit: e.SMS_PHONE_DAILY_LIMIT,
        /** Per registration ticket or per user. */
        subjectHourlyLimit: e.SMS_SUBJECT_HOURLY_LIMIT,
        ipHourlyLimit: e.SMS_IP_HOURLY_LIMIT,
      },
    },
    accessTokenTtlS: e.ACCESS_TOKEN_TTL_S,
    refreshTokenTtlS: e.REFRESH_TOKEN_TTL_S,
    refreshReuseGraceS: e.REFRESH_REUSE_GRACE_S,
    accountDeletionCoolingOffS: e.ACCOUNT_DELETION_COOLING_OFF_S,
    authRateLimitPerMinute: e.AUTH_RATE_LIMIT_PER_MINUTE,
    /** The built console served at /admin/; default apps/admin/dist beside the API. */
    adminConsoleDir: e.ADMIN_CONSOLE_DIR,
    /** What one successful getuserphonenumber call and one SMS cost, for the console's spend. */
    prices: { phoneLookupCny: e.PHONE_LOOKUP_PRICE_CNY, smsCny: e.SMS_PRICE_CNY },
    corsOrigins: e.CORS_ORIGINS ?? (production ? [] : DEV_CORS_ORIGINS.split(",")),
    trustProxy: e.TRUST_PROXY,
  };
}

export type Config = ReturnType<typeof loadConfig>;
export type SmsConfig = Config["sms"];
