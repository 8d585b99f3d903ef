import { randomUUID } from "node:crypto";
import { z } from "zod";
import { CallBudget, POLL_MAX_MS, POLL_MIN_MS, sleepWithin, within, withJitter } from "./budget.js";
import { WechatApiError } from "./errors.js";
import { observeCall } from "./observer.js";
import type { WechatRequest, WechatTransport } from "./transport.js";
import type { SharedStore, WechatLogger, WechatObserver } from "./types.js";

/** What the shared store holds under the token key (JSON). Times are ms since the epoch. */
const StoredTokenSchema = z.object({
  token: z.string().min(1),
  expiresAt: z.number(),
  /** From then on the token is still used, but a refresh is due. */
  refreshAt: z.number(),
});
type StoredToken = z.infer<typeof StoredTokenSchema>;

const TokenReplySchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().positive(),
});

export interface AccessTokenManagerOptions {
  appid: string;
  secret: string;
  baseUrl: string;
  endpoint: "stable_token" | "token";
  refreshAheadMs: number;
  timeoutMs: number;
  store: SharedStore;
  transport: WechatTransport;
  logger: WechatLogger;
  observer?: WechatObserver;
  now: () => number;
}

/**
 * The access token of one appid, shared by every process that uses the same store.
 *
 * - Process-local cache first: a cached token costs no store round trip.
 * - Within `refreshAheadMs` of expiry the current token keeps being served while one background
 *   refresh runs, so callers never wait for a refresh they could have avoided.
 * - Concurrent refreshes in one process share one promise; across processes a lock in the store
 *   lets one process fetch while the others poll the store for its result.
 * - Never sends `force_refresh: true`: that invalidates the token every other process is using
 *   and is limited to 20 calls a day.
 */
export class AccessTokenManager {
  private cached: StoredToken | undefined;
  private refreshing: Promise<StoredToken> | undefined;
  private readonly tokenKey: string;
  private readonly lockKey: string;
  private readonly tokenRequest: WechatRequest;

  constructor(private readonly options: AccessTokenManagerOptions) {
    this.tokenKey = `wxauth:wechat:${options.appid}:access_token`;
    this.lockKey = `${this.tokenKey}:lock`;
    this.tokenRequest = buildTokenRequest(options);
  }

  /**
   * A usable access token. `budget` bounds the wait of a caller inside a larger call; without it
   * the wait is bounded by the refresh's own budget (`timeoutMs`).
   */
  async get(budget?: CallBudget): Promise<string> {
    const cached = this.cached;
    if (cached) {
      const now = this.options.now();
      if (now < cached.refreshAt) return cached.token;
      if (now < cached.expiresAt) {
        this.refreshInBackground();
        return cached.token;
      }
    }
    const joined = this.refreshing !== undefined;
    const refreshed = this.refresh();
    if (!budget) return (await refreshed).token;
    try {
      return (await within(refreshed, budget)).token;
    } catch (error) {
      // A refresh another call started ends on that call's budget, which can run out while this
      // one still has time: the retry of a request that timed out would otherwise fail with it.
      const ranOut = error instanceof WechatApiError && error.kind === "timeout";
      if (!joined || !ranOut || budget.aborted) throw error;
      return (await within(this.refresh(), budget)).token;
    }
  }

  /**
   * Forgets `token` after WeChat rejected it (40001/42001/40014), here and in the store, but only
   * while it is still the current one: a caller that held an old token must not drop the new one.
   */
  async invalidate(token: string): Promise<void> {
    if (this.cached?.token === token) this.cached = undefined;
    const raw = await this.options.store.get(this.tokenKey);
    if (raw === null) return;
    const stored = this.parseStored(raw);
    if (stored === undefined || stored.token === token) {
      await this.options.store.deleteIfEquals(this.tokenKey, raw);
      this.options.logger.warn(
        { api: this.tokenRequest.api },
        "access token rejected; invalidated",
      );
    }
  }

  private refreshInBackground(): void {
    if (this.refreshing) return;
    this.refresh().catch((error: unknown) => {
      // The current token is still valid; the next call past refreshAt tries again.
      this.options.logger.warn(
        { api: this.tokenRequest.api, errcode: (error as { errcode?: unknown }).errcode },
        "background access-token refresh failed",
      );
    });
  }

  private refresh(): Promise<StoredToken> {
    this.refreshing ??= this.refreshShared().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async refreshShared(): Promise<StoredToken> {
    const { store, timeoutMs } = this.options;
    const budget = new CallBudget(this.tokenRequest.api, timeoutMs);
    const owner = randomUUID();
    for (;;) {
      const stored = await this.readStore();
      if (stored && this.isFresh(stored)) return this.adopt(stored);
      if (await store.setIfAbsent(this.lockKey, owner, timeoutMs)) {
        try {
          // Another process may have stored a fresh token between our read and our lock.
          const again = await this.readStore();
          if (again && this.isFresh(again)) return this.adopt(again);
          const fetched = await this.fetchToken(budget);
          await store.set(
            this.tokenKey,
            JSON.stringify(fetched),
            fetched.expiresAt - this.options.now(),
          );
          return this.adopt(fetched);
        } finally {
          await store.deleteIfEquals(this.lockKey, owner);
        }
      }
      await this.waitWhileAnotherProcessRefreshes(budget);
    }
  }

  /** Returns once a fresh token is stored or the lock is gone (its holder failed or died). */
  private async waitWhileAnotherProcessRefreshes(budget: CallBudget): Promise<void> {
    for (let delayMs = POLL_MIN_MS; ; delayMs = Math.min(delayMs * 2, POLL_MAX_MS)) {
      await sleepWithin(withJitter(delayMs), budget);
      const stored = await this.readStore();
      if (stored && this.isFresh(stored)) return;
      if ((await this.options.store.get(this.lockKey)) === null) return;
    }
  }

  private async fetchToken(budget: CallBudget): Promise<StoredToken> {
    const { transport, observer } = this.options;
    const reply = await observeCall(observer, this.tokenRequest.api, () =>
      transport.call(this.tokenRequest, TokenReplySchema, budget, []),
    );
    observer?.accessTokenFetched();
    const fetchedAt = this.options.now();
    const lifetimeMs = reply.expires_in * 1000;
    const expiresAt = fetchedAt + lifetimeMs;
    // stable_token returns the same token until its last 5 minutes, so a refresh-ahead window
    // longer than that would make every call refresh again; half the lifetime is the floor.
    const refreshAt = Math.max(expiresAt - this.options.refreshAheadMs, fetchedAt + lifetimeMs / 2);
    this.options.logger.debug(
      { api: this.tokenRequest.api, expiresInS: reply.expires_in },
      "access token fetched",
    );
    return { token: reply.access_token, expiresAt, refreshAt };
  }

  private isFresh(stored: StoredToken): boolean {
    return this.options.now() < stored.refreshAt;
  }

  private adopt(stored: StoredToken): StoredToken {
    this.cached = stored;
    return stored;
  }

  private async readStore(): Promise<StoredToken | undefined> {
    const raw = await this.options.store.get(this.tokenKey);
    return raw === null ? undefined : this.parseStored(raw);
  }

  private parseStored(raw: string): StoredToken | undefined {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      json = undefined;
    }
    const parsed = StoredTokenSchema.safeParse(json);
    if (parsed.success) return parsed.data;
    this.options.logger.warn(
      { api: this.tokenRequest.api },
      "ignoring a malformed access token in the store",
    );
    return undefined;
  }
}

function buildTokenRequest(options: AccessTokenManagerOptions): WechatRequest {
  const { appid, secret, baseUrl } = options;
  if (options.endpoint === "token") {
    const query = new URLSearchParams({ grant_type: "client_credential", appid, secret });
    return { api: "token", method: "GET", url: `${baseUrl}/cgi-bin/token?${query}` };
  }
  return {
    api: "stable_token",
    method: "POST",
    url: `${baseUrl}/cgi-bin/stable_token`,
    body: JSON.stringify({ grant_type: "client_credential", appid, secret }),
  };
}
