import type { SharedStore } from "@wxauth/wechat";
import type { Logger } from "pino";
import { createAccessTokens, type AccessTokens } from "./auth/access-tokens.js";
import { createAtRestSealers } from "./auth/at-rest-cipher.js";
import { createAuthService, type AuthService } from "./auth/auth.service.js";
import { createAvatarsService, type AvatarsService } from "./avatars/avatars.service.js";
import { createSessions, type Sessions } from "./auth/sessions.js";
import { systemClock, type Clock } from "./clock.js";
import type { Config } from "./config.js";
import { createDatabase, type Database } from "./db/client.js";
import { createDataAccess, type DataAccess } from "./db/data-access.js";
import { createMetrics, type Metrics } from "./metrics/metrics.js";
import { createSmsCodes, disabledSmsCodes, type SmsCodes } from "./sms/sms-codes.js";
import { createSmsSender } from "./sms/sms-sender.js";
import type { Authenticate } from "./http/authenticate.js";
import { createAdminService, type AdminService } from "./admin/admin.service.js";
import { createOperators, type Operators, type OperatorsDeps } from "./admin/operators.service.js";
import {
  createSecurityEventLog,
  type LogSecurityEvent,
} from "./security-events/security-events.js";
import { createAccountDeletion, type AccountDeletion } from "./users/account-deletion.js";
import { createUsersService, type UsersService } from "./users/users.service.js";
import { createStore } from "./stores/create-store.js";
import { createWechatApps, type WechatApps } from "./wechat/apps.js";
import { createContentChecks } from "./content-checks/content-checks.js";
import {
  createWechatPushService,
  type WechatPushService,
} from "./wechat-push/wechat-push.service.js";

export interface Dependencies {
  config: Config;
  logger: Logger;
  clock: Clock;
  db: Database;
  data: DataAccess;
  /** The one shared store: WeChat access token and code memo, and rate-limit counters. */
  store: SharedStore;
  /** Redis's own PING (readiness), when REDIS_URL is set. */
  pingRedis: (() => Promise<void>) | undefined;
  /** This app's Prometheus registry and counters (one per app, not prom-client's global one). */
  metrics: Metrics;
  /** The configured mini programs by appid, each with its own WeChat client. */
  apps: WechatApps;
  accessTokens: AccessTokens;
  /** Checks a Bearer request's access token, and that its session still stands. */
  authenticate: Authenticate;
  sessions: Sessions;
  /** Verification codes by SMS (registration and phone changes), or disabledSmsCodes. */
  smsCodes: SmsCodes;
  auth: AuthService;
  users: UsersService;
  avatars: AvatarsService;
  accountDeletion: AccountDeletion;
  /** Writes a security event: its log line and its row in security_events. */
  logSecurityEvent: LogSecurityEvent;
  /** The console's operators and their cookie sessions. */
  operators: Operators;
  /** What operators read and do (users, bans, spend, audit). */
  admin: AdminService;
  /** WeChat's message push to each app: the server-address check and the events acted on. */
  wechatPush: WechatPushService;
  /**
   * Stops background work, then closes WeChat's idle connections, the database and the store.
   * `track` sees each part's closing, so a shutdown that runs out of time can name what is left.
   */
  close(track?: TrackClosing): Promise<void>;
}

export type TrackClosing = (part: string, closing: Promise<void>) => Promise<void>;

export interface DependencyOverrides {
  clock?: Clock;
  /** Replaces the database built from config.databaseUrl. */
  db?: Database;
  /** Replaces the store built from config.redisUrl. */
  store?: SharedStore;
  /**
   * The operators' password hashing cost and sign-in limits. Tests lower the scrypt cost to keep
   * suites fast (a hash names its cost, so verification follows whatever made it).
   */
  operators?: Pick<OperatorsDeps, "scryptCost" | "signInLimits">;
}

/** Everything the app needs, built once from the configuration. Tests swap parts through overrides. */
export async function buildDependencies(
  config: Config,
  logger: Logger,
  overrides: DependencyOverrides = {},
): Promise<Dependencies> {
  const clock = overrides.clock ?? systemClock;
  const db = overrides.db ?? createDatabase(config.databaseUrl);
  const storeHandle = overrides.store
    ? { store: overrides.store, pingRedis: undefined, close: async () => {} }
    : await createStore(config.redisUrl, logger.child({ component: "store" }), {
        keyPrefix: config.redisKeyPrefix,
      });
  const { store } = storeHandle;
  const data = createDataAccess(db);
  const metrics = createMetrics(config.wechat.apps.map((app) => app.name));
  const apps = createWechatApps({
    apps: config.wechat.apps,
    wechat: config.wechat,
    store,
    logger,
    observerFor: metrics.wechatObserverFor,
  });
  const logSecurityEvent = createSecurityEventLog({
    data,
    logger,
    clock,
    onWriteFailure: () => metrics.securityEventWriteFailures.inc(),
  });
  const sealers = createAtRestSealers(config.dataKeys);
  const accessTokens = createAccessTokens({ ...config.jwt, ttlS: config.accessTokenTtlS }, clock);
  const sessions = createSessions({
    data,
    apps,
    accessTokens,
    successorCipher: sealers.refreshTokenSuccessor,
    clock,
    logSecurityEvent,
    refreshTokenTtlS: config.refreshTokenTtlS,
    refreshReuseGraceS: config.refreshReuseGraceS,
  });
  const smsLogger = logger.child({ component: "sms" });
  const smsCodes =
    config.sms.provider === "none"
      ? disabledSmsCodes
      : createSmsCodes({
          store,
          sender: createSmsSender(config.sms, smsLogger, metrics.smsObserver),
          logSecurityEvent,
          observer: metrics.smsObserver,
          limits: config.sms.limits,
          dataKeys: config.dataKeys,
        });
  const auth = createAuthService({
    data,
    apps,
    sessions,
    smsCodes,
    wechatSessionKeyCipher: sealers.wechatSessionKey,
    clock,
    logger,
    logSecurityEvent,
    registrationMode: config.registrationMode,
    observer: metrics.authObserver,
    // Outlives the WeChat call it covers, so a slow WeChat never lets a second redemption in.
    ticketLeaseMs: config.wechat.timeoutMs + 10_000,
  });
  const contentChecks = createContentChecks({
    enabled: config.contentChecks,
    apps,
    data,
    metrics,
    logger,
    logSecurityEvent,
  });
  const users = createUsersService({
    data,
    apps,
    smsCodes,
    logSecurityEvent,
    contentChecks,
    metrics,
    logger,
    deletionCoolingOffS: config.accountDeletionCoolingOffS,
  });
  const avatars = createAvatarsService({
    data,
    contentChecks,
    publicBaseUrl: config.publicBaseUrl,
    metrics,
    clock,
    logger,
    logSecurityEvent,
  });
  const accountDeletion = createAccountDeletion({
    data,
    clock,
    logSecurityEvent,
    coolingOffS: config.accountDeletionCoolingOffS,
  });
  const operators = createOperators({ data, store, clock, ...overrides.operators });
  const admin = createAdminService({
    data,
    clock,
    logSecurityEvent,
    prices: config.prices,
    apps,
  });
  const wechatPush = createWechatPushService({
    apps,
    data,
    store,
    avatars,
    accountDeletion,
    metrics,
    clock,
    logger,
    logSecurityEvent,
  });
  return {
    config,
    logger,
    clock,
    db,
    data,
    store,
    pingRedis: storeHandle.pingRedis,
    metrics,
    apps,
    accessTokens,
    authenticate: sessions.authenticate,
    sessions,
    smsCodes,
    auth,
    users,
    avatars,
    accountDeletion,
    logSecurityEvent,
    operators,
    admin,
    wechatPush,
    async close(track: TrackClosing = (_part, closing) => closing) {
      apps.close();
      await Promise.allSettled([
        track("database", data.close()),
        track("store", storeHandle.close()),
      ]);
    },
  };
}
