import { MemoryStore, WechatApiError, WechatClient, type WechatClientOptions } from "../index.js";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { FAKE_APPID, FAKE_SECRET, FakeWechat, recordingLogger } from "./fake-wechat.js";

/**
 * One fake WeChat for a test file: started before its tests (handed to `started`), reset after
 * each test, and closed after the last.
 */
export function useFakeWechat(started: (fake: FakeWechat) => void): void {
  let fake: FakeWechat | undefined;
  beforeAll(async () => {
    fake = await FakeWechat.start();
    started(fake);
  });
  afterEach(() => {
    fake?.reset();
  });
  afterAll(async () => {
    await fake?.close();
  });
}

let codeCounter = 0;
/** A code no other test has used, so the memo never answers in WeChat's place. */
export const freshCode = () => `code-${++codeCounter}-${Math.random().toString(36).slice(2)}`;

/** A client of `fake` with a recording logger and its own store unless one is given. */
export function clientOf(fake: FakeWechat, overrides: Partial<WechatClientOptions> = {}) {
  const { lines, logger } = recordingLogger();
  const store = overrides.store ?? newStore();
  const client = new WechatClient({
    appid: FAKE_APPID,
    secret: FAKE_SECRET,
    baseUrl: fake.baseUrl,
    // Generous: these tests are about behaviour, not timing (timing tests set their own budget),
    // and must not fail because a loaded CI machine was slow.
    timeoutMs: 10_000,
    logger,
    ...overrides,
    store,
  });
  return { client, logs: lines, store };
}

/**
 * A store for one test. Small, because a test needs few entries and a 100 000-entry cache takes
 * some 25 ms to allocate: time a timing test would see its budget's timer lose, since that timer
 * counts from the start of the event-loop turn.
 */
export function newStore(): MemoryStore {
  return new MemoryStore({ maxEntries: 1_000 });
}

/** The WechatApiError `promise` rejects with; fails the test when it resolves. */
export async function failureOf(promise: Promise<unknown>): Promise<WechatApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof WechatApiError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

/**
 * The call fails as a timeout that used its whole `budgetMs` (the client was built with it) and
 * ended within 150 ms of it: no retry started after the budget ran out.
 */
export async function timeoutOf(call: Promise<unknown>, budgetMs: number): Promise<WechatApiError> {
  const started = performance.now();
  const error = await failureOf(call);
  const elapsed = performance.now() - started;
  expect(error).toMatchObject({ kind: "timeout", errcode: -1, retryable: true });
  expect(elapsed).toBeGreaterThanOrEqual(budgetMs - 10);
  expect(elapsed).toBeLessThan(budgetMs + 150);
  return error;
}

export async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
