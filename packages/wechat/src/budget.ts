import { setTimeout as sleep } from "node:timers/promises";
import { timeoutError } from "./errors.js";
import type { WechatApiName } from "./types.js";

/**
 * The time one public call may take, retries and backoff sleeps included. `signal` aborts once the
 * budget is spent; it stops the call's requests (undici takes it as a request's `signal`) and its
 * sleeps, and either way the call fails with `timeoutError()`.
 */
export class CallBudget {
  readonly signal: AbortSignal;
  private readonly deadline: number;

  constructor(
    readonly api: WechatApiName,
    readonly ms: number,
  ) {
    this.signal = AbortSignal.timeout(ms);
    this.deadline = performance.now() + ms;
  }

  get aborted(): boolean {
    return this.signal.aborted;
  }

  remainingMs(): number {
    return this.deadline - performance.now();
  }

  timeoutError() {
    return timeoutError(this.api, this.ms);
  }
}

/** Waits `ms`, or rejects with the budget's timeout error when the budget runs out first. */
export async function sleepWithin(ms: number, budget: CallBudget): Promise<void> {
  try {
    await sleep(ms, undefined, { signal: budget.signal });
  } catch {
    throw budget.timeoutError();
  }
}

/**
 * Settles like `shared`, unless this caller's budget runs out first. Lets callers with their own
 * deadlines wait on one shared (single-flight) promise.
 */
export function within<T>(shared: Promise<T>, budget: CallBudget): Promise<T> {
  if (budget.aborted) return Promise.reject(budget.timeoutError());
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(budget.timeoutError());
    budget.signal.addEventListener("abort", onAbort, { once: true });
    shared.then(resolve, reject).finally(() => budget.signal.removeEventListener("abort", onAbort));
  });
}

/** `ms` scaled by a random factor in [0.5, 1): spreads out callers that failed together. */
export function withJitter(ms: number): number {
  return ms * (0.5 + Math.random() / 2);
}

/** Delays between polls of the shared store while another process holds a lock or claim. */
export const POLL_MIN_MS = 10;
export const POLL_MAX_MS = 200;
