import { EventEmitter } from "node:events";
import { timeoutError } from "./errors.js";
import type { WechatApiName } from "./types.js";

/**
 * The time one public call may take, retries included. Once the budget is spent it is `aborted`
 * and emits "abort", which stops every request (undici takes an EventEmitter as a request's
 * `signal`) and every backoff sleep of that call.
 *
 * Not an AbortController: an AbortSignal that dies as young as the rest of a call is still
 * promoted to the old generation, about 600 bytes each (measured by
 * `apps/api/bench/abort-signals.ts`; why, inside Node or V8, was not pinned down).
 * One per login made the old generation grow by that much per login, and a major collection, a
 * pause of 5-15 ms that a whole cluster of logins waits behind, comes every 8 MB or so of growth
 * (docs/benchmarks.md, fix 21). An EventEmitter dies young like the rest of a login.
 */
export class CallBudget extends EventEmitter {
  private spent = false;
  private readonly deadline: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly api: WechatApiName,
    readonly ms: number,
  ) {
    super();
    this.deadline = performance.now() + ms;
    // dispose() clears it as soon as the call ends, so a busy login path does not keep thousands
    // of pending timers around.
    this.timer = setTimeout(() => {
      this.spent = true;
      this.emit("abort");
    }, ms);
    this.timer.unref();
  }

  /** True once the budget is spent (what undici reads of a signal before it listens). */
  get aborted(): boolean {
    return this.spent;
  }

  remainingMs(): number {
    return this.deadline - performance.now();
  }

  timeoutError() {
    return timeoutError(this.api, this.ms);
  }

  dispose(): void {
    clearTimeout(this.timer);
  }
}

/** Waits `ms`, or rejects with the budget's timeout error when the budget runs out first. */
export function sleepWithin(ms: number, budget: CallBudget): Promise<void> {
  return new Promise((resolve, reject) => {
    if (budget.aborted) return reject(budget.timeoutError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(budget.timeoutError());
    };
    const timer = setTimeout(() => {
      budget.off("abort", onAbort);
      resolve();
    }, ms);
    budget.once("abort", onAbort);
  });
}

/**
 * Settles like `shared`, unless this caller's budget runs out first. Lets callers with their own
 * deadlines wait on one shared (single-flight) promise.
 */
export function within<T>(shared: Promise<T>, budget: CallBudget): Promise<T> {
  if (budget.aborted) return Promise.reject(budget.timeoutError());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(budget.timeoutError());
    budget.once("abort", onAbort);
    shared.then(
      (value) => {
        budget.off("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        budget.off("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** `ms` scaled by a random factor in [0.5, 1): spreads out callers that failed together. */
export function withJitter(ms: number): number {
  return ms * (0.5 + Math.random() / 2);
}

/** Delays between polls of the shared store while another process holds a lock or claim. */
export const POLL_MIN_MS = 10;
export const POLL_MAX_MS = 200;
