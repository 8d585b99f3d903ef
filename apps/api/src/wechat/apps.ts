import { WechatClient, type SharedStore, type WechatObserver } from "@wxauth/wechat";
import type { Logger } from "pino";
import type { Config, WechatAppConfig } from "../config.js";
import { AppError } from "../errors.js";

/** A mini program the API serves: its configuration and its own WeChat client. */
export interface WechatApp {
  appid: string;
  /** The configured short label (`shop`): the metrics' `app` label, shown in /api/me. */
  name: string;
  /** Its own access token (in the shared store, under its appid), code memo and phone lookups. */
  client: WechatClient;
  /** WeChat's message push to this app, when configured (Token, EncodingAESKey). */
  push: { token: string; aesKey: string | undefined } | undefined;
}

/** What an app's WeChat calls are counted under: the observer for its `app` label. */
export type WechatObserverFor = (appName: string) => WechatObserver;

/**
 * The configured mini programs, by appid. Every WeChat call goes through the client of the app it
 * concerns: a login through the app the user opened, a phone code through the app that issued it.
 */
export interface WechatApps {
  /** The first configured app: the one a login without appid means when it is the only one. */
  readonly primary: WechatApp;
  readonly all: readonly WechatApp[];
  /** The app of that appid, or undefined when it is not configured. */
  find(appid: string): WechatApp | undefined;
  /**
   * The app a request names: its appid, or the only app when it names none. 400
   * WECHAT_APP_UNKNOWN for an appid that is not configured, or none while several are.
   */
  resolve(appid: string | undefined): WechatApp;
  /** The configured name of an appid; null for an app no longer configured. */
  nameOf(appid: string): string | null;
  /** Closes every client's idle connections. */
  close(): void;
}

export function createWechatApps(options: {
  apps: readonly WechatAppConfig[];
  wechat: Pick<Config["wechat"], "baseUrl" | "timeoutMs">;
  store: SharedStore;
  logger: Logger;
  observerFor: WechatObserverFor;
}): WechatApps {
  const all = options.apps.map((app): WechatApp => ({
    appid: app.appid,
    name: app.name,
    client: new WechatClient({
      appid: app.appid,
      secret: app.secret,
      baseUrl: options.wechat.baseUrl,
      timeoutMs: options.wechat.timeoutMs,
      store: options.store,
      logger: options.logger.child({ component: "wechat", app: app.name }),
      observer: options.observerFor(app.name),
    }),
    push: app.pushToken ? { token: app.pushToken, aesKey: app.pushAesKey } : undefined,
  }));
  const primary = all[0];
  if (!primary) throw new Error("at least one WeChat app must be configured");
  const byAppid = new Map(all.map((app) => [app.appid, app]));

  return {
    primary,
    all,
    find: (appid) => byAppid.get(appid),
    resolve(appid) {
      if (appid === undefined) {
        if (all.length === 1) return primary;
        throw new AppError(
          "WECHAT_APP_UNKNOWN",
          "Several mini programs are configured: the request must name its appid.",
        );
      }
      const app = byAppid.get(appid);
      if (!app) throw new AppError("WECHAT_APP_UNKNOWN");
      return app;
    },
    nameOf: (appid) => byAppid.get(appid)?.name ?? null,
    close() {
      for (const app of all) app.client.close();
    },
  };
}
