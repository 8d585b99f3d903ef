import { vi } from "vitest";

/** One uni.request call as the app made it. */
export interface UniRequestCall {
  url: string;
  method: string;
  header: Record<string, string>;
  data: unknown;
}

/** One uni.uploadFile call as the app made it. */
export interface UniUploadCall {
  url: string;
  header: Record<string, string>;
  filePath: string;
  name: string;
}

export type ScriptedAnswer = { statusCode: number; data: unknown } | { fail: string };
export type RequestScript = (call: UniRequestCall) => ScriptedAnswer | Promise<ScriptedAnswer>;

export interface FakeUni {
  storage: Map<string, unknown>;
  requests: UniRequestCall[];
  uploads: UniUploadCall[];
  reLaunches: string[];
  /** The content of each uni.showModal, closed at once. */
  modals: string[];
  script: RequestScript;
  /** What uni.getDeviceInfo answers; an Error is thrown instead. */
  deviceInfo: Record<string, unknown> | Error;
}

/**
 * A stand-in for the `uni` global with the behaviour the app relies on: synchronous JSON storage
 * that answers "" for a missing key (as uni does), uni.request and uni.uploadFile answered by a test
 * script, reLaunch, getDeviceInfo.
 */
export function installFakeUni(script: RequestScript = () => ({ fail: "request:fail no script" })) {
  const fake: FakeUni = {
    storage: new Map(),
    requests: [],
    uploads: [],
    reLaunches: [],
    modals: [],
    script,
    deviceInfo: { platform: "ios", model: "iPhone 15", system: "iOS 17.0", brand: "Apple" },
  };
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
    /** Answered by the same script, seen as a POST whose data is the file; the body comes back as text, as uploadFile gives it. */
    uploadFile: (options: UniApp.UploadFileOption) => {
      const upload: UniUploadCall = {
        url: options.url,
        header: { ...(options.header as Record<string, string>) },
        filePath: options.filePath ?? "",
        name: options.name ?? "",
      };
      fake.uploads.push(upload);
      const call: UniRequestCall = {
        url: upload.url,
        method: "POST",
        header: upload.header,
        data: { filePath: upload.filePath, name: upload.name },
      };
      fake.requests.push(call);
      void Promise.resolve()
        .then(() => fake.script(call))
        .then((answer) => {
          if ("fail" in answer) {
            options.fail?.({ errMsg: answer.fail.replace(/^request:/, "uploadFile:") });
          } else {
            options.success?.({
              statusCode: answer.statusCode,
              data: typeof answer.data === "string" ? answer.data : JSON.stringify(answer.data),
            });
          }
        });
    },
    reLaunch: ({ url }: { url: string }) => {
      fake.reLaunches.push(url);
    },
    showModal: (options: UniApp.ShowModalOptions) => {
      fake.modals.push(options.content ?? "");
      options.complete?.({ errMsg: "showModal:ok" } as UniApp.GeneralCallbackResult);
    },
    getDeviceInfo: () => {
      if (fake.deviceInfo instanceof Error) throw fake.deviceInfo;
      return { ...fake.deviceInfo };
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
