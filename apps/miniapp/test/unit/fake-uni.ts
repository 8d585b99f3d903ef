import { vi } from "vitest";

/** One uni.request call as the app made it. */
export interface UniRequestCall {
  url: string;
  method: string;
  header: Record<string, string>;
  data: unknown;
}

export type ScriptedAnswer = { statusCode: number; data: unknown } | { fail: string };
export type RequestScript = (call: UniRequestCall) => ScriptedAnswer | Promise<ScriptedAnswer>;

export interface FakeUni {
  storage: Map<string, unknown>;
  requests: UniRequestCall[];
  reLaunches: string[];
  script: RequestScript;
}

/**
 * A stand-in for the `uni` global with the behaviour the app relies on: synchronous JSON storage
 * that answers "" for a missing key (as uni does), uni.request answered by a test script, reLaunch.
 */
export function installFakeUni(script: RequestScript = () => ({ fail: "request:fail no script" })) {
  const fake: FakeUni = { storage: new Map(), requests: [], reLaunches: [], script };
  const uni = {
    getStorageSync: (key: string) =>
      fake.storage.has(key) ? JSON.parse(JSON.stringify(fake.storage.get(key))) : "",
    setStorageSync: (key: string, value: unknown) => {
      fake.storage.set(key, JSON.parse(JSON.stringify(value)));
    },
    removeStorageSync: (key: string) => {
      fake.storage.delete(key);
    },
    request: (options: UniApp.RequestOptions) => {
      const call: UniRequestCall = {
        url: options.url,
        method: options.method ?? "GET",
        header: { ...(options.header as Record<string, string>) },
        data: options.data,
      };
      fake.requests.push(call);
      void Promise.resolve()
        .then(() => fake.script(call))
        .then((answer) => {
          if ("fail" in answer) {
            options.fail?.({ errMsg: answer.fail });
          } else {
            options.success?.({
              statusCode: answer.statusCode,
              data: answer.data as string,
              header: {},
              cookies: [],
            });
          }
        });
    },
    reLaunch: ({ url }: { url: string }) => {
      fake.reLaunches.push(url);
    },
  };
  vi.stubGlobal("uni", uni);
  return fake;
}

/** A promise the test settles by hand, to hold a request in flight. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}
