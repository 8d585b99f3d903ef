import {
  MemoryStore,
  WechatApiError,
  WechatClient,
  type WechatClientOptions,
} from "../src/index.js";
import { FAKE_APPID, FAKE_SECRET, type FakeWechat, recordingLogger } from "./fake-wechat.js";

const stores: MemoryStore[] = [];

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

export function newStore(): MemoryStore {
  const store = new MemoryStore();
  stores.push(store);
  return store;
}

export function closeStores(): void {
  for (const store of stores.splice(0)) store.close();
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

export async function until(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
