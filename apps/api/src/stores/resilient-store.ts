import type { SharedStore } from "@wxauth/wechat";

/** The subset of a pino logger the store uses. */
export interface StoreLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A shared store that can say whether it is reachable before a call is wasted on it. */
export interface RemoteStore extends SharedStore {
  readonly isReady: boolean;
}

export interface ResilientStoreOptions {
  /** One outage error per this many ms at most, however many calls fail meanwhile. Default 10 000. */
  errorLogIntervalMs?: number;
  /**
   * After a failed call (a timeout on a slow Redis, say) calls skip the remote for this long, so a
   * sick Redis costs one command timeout per window instead of one per call. Default 2000.
   */
  retryAfterMs?: number;
  now?: () => number;
}

type Operation<T> = (store: SharedStore) => Promise<T>;

/**
 * Serves from the remote (Redis) store while it answers and from a process-local store while it does
 * not, so logins keep working through a Redis outage, with locks, the code memo and rate limits
 * scoped to this instance until Redis returns. Recovery needs no restart: as soon as the remote is
 * ready again (and the back-off after a failed call has passed) calls go back to it.
 */
export class ResilientStore implements SharedStore {
  private readonly errorLogIntervalMs: number;
  private readonly retryAfterMs: number;
  private readonly now: () => number;

  private degradedSince: number | null = null;
  private outageLogged = false;
  private skipRemoteUntil = 0;
  private lastErrorLoggedAt = Number.NEGATIVE_INFINITY;
  private callsServedLocallySinceLastLog = 0;
  private callsServedLocallyThisOutage = 0;

  constructor(
    private readonly remote: RemoteStore,
    private readonly fallback: SharedStore,
    private readonly logger: StoreLogger,
    options: ResilientStoreOptions = {},
  ) {
    this.errorLogIntervalMs = options.errorLogIntervalMs ?? 10_000;
    this.retryAfterMs = options.retryAfterMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  /** True while calls are being served by the process-local fallback. */
  get isDegraded(): boolean {
    return this.degradedSince !== null;
  }

  get(key: string): Promise<string | null> {
    return this.run((store) => store.get(key));
  }

  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.run((store) => store.set(key, value, ttlMs));
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.run((store) => store.setIfAbsent(key, value, ttlMs));
  }

  async deleteIfEquals(key: string, expected: string): Promise<boolean> {
    // A lock or token taken locally during an outage must not outlive its release once Redis is
    // back: the next outage would find it still held.
    const deletedLocally = await this.fallback.deleteIfEquals(key, expected);
    const deleted = await this.run((store) =>
      store === this.fallback
        ? Promise.resolve(deletedLocally)
        : store.deleteIfEquals(key, expected),
    );
    return deleted || deletedLocally;
  }

  increment(key: string, ttlMs: number): Promise<{ count: number; resetInMs: number }> {
    return this.run((store) => store.increment(key, ttlMs));
  }

  /**
   * The remote's connection failed (refused, reset, timed out). Reported by the connection itself,
   * so an outage is logged even while no request is using the store.
   */
  reportRemoteFailure(error: unknown): void {
    this.markDegraded(error, { servedLocally: false });
  }

  /** The remote's connection is ready again: calls go back to it from now on. */
  reportRemoteReady(): void {
    this.skipRemoteUntil = 0;
    this.markRecovered();
  }

  private async run<T>(operation: Operation<T>): Promise<T> {
    if (this.remote.isReady && this.now() >= this.skipRemoteUntil) {
      try {
        const result = await operation(this.remote);
        this.markRecovered();
        return result;
      } catch (error) {
        this.skipRemoteUntil = this.now() + this.retryAfterMs;
        this.markDegraded(error, { servedLocally: true });
      }
    } else {
      this.markDegraded(null, { servedLocally: true });
    }
    return operation(this.fallback);
  }

  private markDegraded(error: unknown, { servedLocally }: { servedLocally: boolean }): void {
    const now = this.now();
    this.degradedSince ??= now;
    if (servedLocally) {
      this.callsServedLocallySinceLastLog += 1;
      this.callsServedLocallyThisOutage += 1;
    }
    // At most one line per interval, across outages too, so a flapping Redis cannot flood the logs.
    if (now - this.lastErrorLoggedAt < this.errorLogIntervalMs) return;
    this.logger.error(
      {
        store: "redis",
        err: error instanceof Error ? { name: error.name, message: error.message } : undefined,
        outageMs: now - this.degradedSince,
        callsServedLocally: this.callsServedLocallySinceLastLog,
      },
      "Redis is unavailable: serving from process-local memory. The WeChat access token, code memo " +
        "and rate limits are NOT shared between instances until Redis returns",
    );
    this.lastErrorLoggedAt = now;
    this.outageLogged = true;
    this.callsServedLocallySinceLastLog = 0;
  }

  private markRecovered(): void {
    if (this.degradedSince === null) return;
    // Only an outage that was reported gets its recovery reported: one "back" per "down".
    if (this.outageLogged) {
      this.logger.info(
        {
          store: "redis",
          outageMs: this.now() - this.degradedSince,
          callsServedLocally: this.callsServedLocallyThisOutage,
        },
        "Redis is back: the shared store is in use again",
      );
    }
    this.degradedSince = null;
    this.outageLogged = false;
    this.callsServedLocallySinceLastLog = 0;
    this.callsServedLocallyThisOutage = 0;
  }
}
