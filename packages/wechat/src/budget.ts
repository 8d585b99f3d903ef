import { timeoutError } from "./errors.js";
import type { WechatApiName } from "./types.js";

/**
 * The time one public call may take, retries included. Its signal aborts every request and every
 * backoff sleep of that call once the budget is spent.
 */
export class CallBudget {
  readonly signal: AbortSignal;
  private readonly deadline: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly api: WechatApiName,
    readonly ms: number,
  ) {
    const controller = new AbortController();
    this.signal = controller.signal;
    this.deadline = performance.now() + ms;
    // A plain timer rather than AbortSignal.timeout: dispose() clears it as soon as the call ends,
    // so a busy login path does not keep thousands of pending timers around.
    this.timer = setTimeout(() => controller.abort(), ms);
    this.timer.unref();
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
    if (budget.signal.aborted) return reject(budget.timeoutError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(budget.timeoutError());
    };
    const timer = setTimeout(() => {
      budget.signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    budget.signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Settles like `shared`, unless this caller's budget runs out first. Lets callers with their own
 * deadlines wait on one shared (single-flight) promise.
 */
export function within<T>(shared: Promise<T>, budget: CallBudget): Promise<T> {
  if (budget.signal.aborted) return Promise.reject(budget.timeoutError());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(budget.timeoutError());
    budget.signal.addEventListener("abort", onAbort, { once: true });
    shared.then(
      (value) => {
        budget.signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        budget.signal.removeEventListener("abort", onAbort);
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
