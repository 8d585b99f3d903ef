import { WechatApiError } from "./errors.js";
import type { WechatApiName, WechatObserver } from "./types.js";

/** How a call ended, as `WechatObserver.call` is told: `ok`, the errcode, or the failure's kind. */
export function callOutcomeOf(error?: unknown): string {
  if (error === undefined) return "ok";
  if (!(error instanceof WechatApiError)) return "error";
  return error.kind === "wechat" || error.kind === "config" ? String(error.errcode) : error.kind;
}

/** Runs `call` and tells `observer` how it ended and how long it took. */
export async function observeCall<T>(
  observer: WechatObserver | undefined,
  api: WechatApiName,
  call: () => Promise<T>,
): Promise<T> {
  if (!observer) return call();
  const startedAt = performance.now();
  try {
    const result = await call();
    observer.call(api, callOutcomeOf(), (performance.now() - startedAt) / 1000);
    return result;
  } catch (error) {
    observer.call(api, callOutcomeOf(error), (performance.now() - startedAt) / 1000);
    throw error;
  }
}
