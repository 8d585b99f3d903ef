/*
 * What WeChat gives the compiled mini program, for miniprogram-simulate: `wx` with login codes
 * from the WeChat sandbox, wx.request and wx.uploadFile forwarded to the real API over HTTP, temp
 * files, storage, and navigation recorded for the test to follow (the simulator renders one page at
 * a time).
 */
import { createRequire } from "node:module";
import path from "node:path";
import {
  SANDBOX_APPID,
  SandboxLoginCodeResponseSchema,
  SandboxPhoneCodeResponseSchema,
  SandboxSmsMessagesSchema,
  sandboxRoutes,
} from "@wxauth/contracts/sandbox";

const require = createRequire(import.meta.url);

/** The API origin compiled into dist/build/mp-weixin (VITE_API_BASE_URL's default). */
export const BUILT_API_BASE_URL = "http://localhost:3000";
/** wx.request's methods: no PATCH. */
const WX_REQUEST_METHODS = ["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT"];

type Callbacks<T> = {
  success?: (result: T) => void;
  fail?: (result: { errMsg: string }) => void;
  complete?: () => void;
};

function settle<T>(options: Callbacks<T>, run: () => Promise<T>): void {
  run().then(
    (result) => {
      options.success?.(result);
      options.complete?.();
    },
    (error: unknown) => {
      options.fail?.({ errMsg: String(error instanceof Error ? error.message : error) });
      options.complete?.();
    },
  );
}

async function postJson(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return response.json();
}

export interface WechatRuntime {
  /** The mini program running (wx.getAccountInfoSync): the sandbox's first app unless a test switches. */
  appid: string;
  /** The WeChat user wx.login and phone codes are for; a test may switch to a new user. */
  openid: string;
  /** Their unionid, for an app bound to the Open Platform account; none unless a test sets one. */
  unionid?: string;
  storage: Map<string, unknown>;
  /** wx.reLaunch / wx.navigateTo targets, in order. */
  navigations: string[];
  /** "METHOD /path STATUS" of every wx.request and wx.uploadFile. */
  requests: string[];
  /** A temp file as chooseAvatar hands it over: its `wxfile://` path, readable by wx.uploadFile. */
  tempFile(bytes: Buffer, extension: string): string;
  /** A getPhoneNumber phone code for this user, as the sandbox mints it. */
  phoneCode(phoneNumber: string): Promise<string>;
  /** The code of the newest SMS the sandbox (as Tencent Cloud SMS) delivered to `phone` (E.164). */
  smsCode(phone: string): Promise<string>;
  /** Every wx.showModal, in order, with the button the simulated user tapped. */
  modals: { title: string; content: string; confirmed: boolean }[];
  /** The buttons the simulated user taps in the next modals (true: confirm); confirm when empty. */
  modalAnswers: boolean[];
}

export function installWechatRuntime(options: {
  apiUrl: string;
  sandboxUrl: string;
  openid: string;
}): WechatRuntime {
  const tempFiles = new Map<string, Buffer>();
  /** The real API's URL for a URL of the built app, refused as WeChat does outside its domain list. */
  const apiUrlOf = (url: string, api: string): string => {
    if (!url.startsWith(BUILT_API_BASE_URL))
      throw new Error(`${api}:fail url not in domain list: ${url}`);
    return options.apiUrl + url.slice(BUILT_API_BASE_URL.length);
  };
  const runtime: WechatRuntime = {
    appid: SANDBOX_APPID,
    openid: options.openid,
    storage: new Map(),
    navigations: [],
    requests: [],
    modals: [],
    modalAnswers: [],
    tempFile: (bytes, extension) => {
      const filePath = `wxfile://tmp_${tempFiles.size + 1}.${extension}`;
      tempFiles.set(filePath, bytes);
      return filePath;
    },
    phoneCode: async (phoneNumber) =>
      SandboxPhoneCodeResponseSchema.parse(
        await postJson(options.sandboxUrl + sandboxRoutes.phoneCode, {
          phoneNumber,
          appid: runtime.appid,
          openid: runtime.openid,
        }),
      ).code,
    smsCode: async (phone) => {
      const url = `${options.sandboxUrl}${sandboxRoutes.sms}?phone=${encodeURIComponent(phone)}`;
      const { messages } = SandboxSmsMessagesSchema.parse(await (await fetch(url)).json());
      const code = messages[0]?.params[0];
      if (code === undefined) throw new Error(`no SMS reached ${phone}`);
      return code;
    },
  };
  const systemInfo = {
    platform: "devtools",
    brand: "devtools",
    model: "iPhone 15",
    system: "iOS 17.0",
    version: "8.0.50",
    SDKVersion: "3.7.0",
    language: "zh_CN",
    pixelRatio: 2,
    screenWidth: 390,
    screenHeight: 844,
    windowWidth: 390,
    windowHeight: 844,
  };
  const wx = {
    login: (call: Callbacks<{ code: string; errMsg: string }>) =>
      settle(call, async () => {
        const { code } = SandboxLoginCodeResponseSchema.parse(
          await postJson(options.sandboxUrl + sandboxRoutes.loginCode, {
            appid: runtime.appid,
            openid: runtime.openid,
            ...(runtime.unionid ? { unionid: runtime.unionid } : {}),
          }),
        );
        return { code, errMsg: "login:ok" };
      }),
    request: (
      call: Callbacks<{ statusCode: number; data: unknown; header: Record<string, string> }> & {
        url: string;
        method?: string;
        header?: Record<string, string>;
        data?: unknown;
        dataType?: string;
      },
    ) => {
      settle(call, async () => {
        const method = call.method ?? "GET";
        if (!WX_REQUEST_METHODS.includes(method)) throw new Error("request:fail invalid method");
        const url = apiUrlOf(call.url, "request");
        const response = await fetch(url, {
          method,
          headers: call.header,
          ...(call.data !== undefined ? { body: JSON.stringify(call.data) } : {}),
        });
        const text = await response.text();
        runtime.requests.push(`${method} ${new URL(url).pathname} ${response.status}`);
        let data: unknown = text;
        if (call.dataType !== "text") {
          try {
            data = JSON.parse(text);
          } catch {
            data = text;
          }
        }
        return { statusCode: response.status, data, header: Object.fromEntries(response.headers) };
      });
      return { abort: () => undefined };
    },
    // Sends multipart/form-data like WeChat: the file under `name`, plus any formData fields.
    uploadFile: (
      call: Callbacks<{ statusCode: number; data: string; errMsg: string }> & {
        url: string;
        filePath: string;
        name: string;
        header?: Record<string, string>;
        formData?: Record<string, string>;
      },
    ) => {
      settle(call, async () => {
        const url = apiUrlOf(call.url, "uploadFile");
        const bytes = tempFiles.get(call.filePath);
        if (!bytes) throw new Error(`uploadFile:fail file not found: ${call.filePath}`);
        const form = new FormData();
        for (const [name, value] of Object.entries(call.formData ?? {})) form.append(name, value);
        form.append(call.name, new Blob([new Uint8Array(bytes)]), path.basename(call.filePath));
        const response = await fetch(url, { method: "POST", headers: call.header, body: form });
        runtime.requests.push(`POST ${new URL(url).pathname} ${response.status}`);
        // wx.uploadFile hands the body over as text, whatever it is.
        return {
          statusCode: response.status,
          data: await response.text(),
          errMsg: "uploadFile:ok",
        };
      });
      return { abort: () => undefined };
    },
    getStorageSync: (key: string) =>
      runtime.storage.has(key) ? structuredClone(runtime.storage.get(key)) : "",
    setStorageSync: (key: string, value: unknown) => {
      runtime.storage.set(key, JSON.parse(JSON.stringify(value)));
    },
    removeStorageSync: (key: string) => {
      runtime.storage.delete(key);
    },
    setStorage: ({ key, data }: { key: string; data: unknown }) => {
      runtime.storage.set(key, data);
    },
    reLaunch: (call: Callbacks<{ errMsg: string }> & { url: string }) =>
      settle(call, async () => {
        runtime.navigations.push(call.url);
        return { errMsg: "reLaunch:ok" };
      }),
    navigateTo: (call: Callbacks<{ errMsg: string }> & { url: string }) =>
      settle(call, async () => {
        runtime.navigations.push(call.url);
        return { errMsg: "navigateTo:ok" };
      }),
    showModal: (
      call: Callbacks<{ confirm: boolean; cancel: boolean; errMsg: string }> & {
        title?: string;
        content?: string;
      },
    ) =>
      settle(call, async () => {
        const confirmed = runtime.modalAnswers.shift() ?? true;
        runtime.modals.push({ title: call.title ?? "", content: call.content ?? "", confirmed });
        return { confirm: confirmed, cancel: !confirmed, errMsg: "showModal:ok" };
      }),
    getSystemInfoSync: () => systemInfo,
    getWindowInfo: () => systemInfo,
    getDeviceInfo: () => systemInfo,
    getAppBaseInfo: () => systemInfo,
    getAccountInfoSync: () => ({
      miniProgram: { appId: runtime.appid, envVersion: "develop", version: "" },
    }),
    getLaunchOptionsSync: () => ({ path: "pages/home/home", query: {}, scene: 1001 }),
    canIUse: () => true,
  };
  Object.assign(globalThis, { wx });
  return runtime;
}

interface SimulatedComponent {
  dom: HTMLElement;
  instance: Record<string, unknown> & {
    onLoad?: (query: Record<string, string>) => void;
    onShow?: () => void;
  };
  attach(parent: HTMLElement): void;
  detach(): void;
  querySelector(selector: string): SimulatedComponent | null;
  querySelectorAll(selector: string): SimulatedComponent[];
  dispatchEvent(name: string, options?: { detail?: unknown }): void;
}

interface Simulate {
  load(componentPath: string, options: { rootPath: string }): string;
  render(id: string, properties?: Record<string, unknown>): SimulatedComponent;
}

/**
 * Boots dist/build/mp-weixin the way WeChat does: app.js first (App() runs onLaunch), then pages.
 * Each launch starts a new app from scratch; storage lives in the runtime and survives it.
 */
export function createMiniProgram(buildDir: string) {
  require("global-jsdom")();
  // Node's own CustomEvent and Event break the simulator's event dispatch.
  Object.assign(globalThis, { CustomEvent: window.CustomEvent, Event: window.Event });
  const simulate = require("miniprogram-simulate") as Simulate;
  const registerComponent = (globalThis as { Component?: unknown }).Component;
  const mounted: SimulatedComponent[] = [];

  return {
    launch(): void {
      for (const page of mounted.splice(0)) page.detach();
      for (const id of Object.keys(require.cache)) {
        if (id.startsWith(buildDir)) delete require.cache[id];
      }
      // The uni runtime wraps Page and Component when it loads; give it the simulator's each time.
      let app: { onLaunch?: (options: unknown) => void } | undefined;
      Object.assign(globalThis, {
        Component: registerComponent,
        Page: registerComponent,
        App: (definition: typeof app) => {
          app = definition;
          app?.onLaunch?.({ path: "pages/home/home", query: {}, scene: 1001 });
        },
        getApp: () => app,
        getCurrentPages: () => [],
      });
      require(path.join(buildDir, "app.js"));
    },
    /** Renders a page and runs its onLoad and onShow, as a navigation to it would. */
    open(route: string, query: Record<string, string> = {}): SimulatedComponent {
      const page = simulate.render(
        simulate.load(path.join(buildDir, route), { rootPath: buildDir }),
      );
      page.attach(document.createElement("page-root"));
      mounted.push(page);
      page.instance.onLoad?.(query);
      page.instance.onShow?.();
      return page;
    },
  };
}

/**
 * `until(condition, what)`: polls `condition` for up to 15 s; a timeout names `what` and the
 * requests the app made so far.
 */
export function waiterFor(runtime: Pick<WechatRuntime, "requests">) {
  return async function until(condition: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 15_000;
    while (!condition()) {
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}; requests so far: ${runtime.requests.join(", ")}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
}

/** Whether the page renders `selector` (the simulator answers undefined for nothing). */
export const has = (page: SimulatedComponent, selector: string) =>
  Boolean(page.querySelector(selector));

export function textOf(page: SimulatedComponent, selector: string): string {
  return page.querySelector(selector)?.dom.textContent?.trim() ?? "";
}

export type { SimulatedComponent };
