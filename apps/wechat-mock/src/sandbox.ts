import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import {
  SANDBOX_SMS,
  SandboxAppsSchema,
  type SandboxApi,
  type SandboxAppInput,
  type SandboxStats,
} from "@wxauth/contracts/sandbox";
import { DEFAULT_SANDBOX_APPS, SandboxApps, type PushSettings } from "./apps.js";
import { MAX_HOLD_MS, MEDIA_CHECK_DELAY_MS } from "./constants.js";
import { devRoutes } from "./dev-controls.js";
import { wechatError } from "./errcodes.js";
import { BodyTooLargeError, JSON_TYPE, readBody, readBodyBytes, send } from "./http.js";
import { Pusher } from "./pusher.js";
import { SandboxState, type Fault } from "./state.js";
import {
  requestTooLarge,
  tencentSmsApi,
  type SmsCredentials,
  type TencentAnswer,
} from "./tencent-sms.js";
import { wechatRoutes, type WechatRoute } from "./wechat-api.js";

export interface SandboxOptions {
  /**
   * The mini programs it stands in for; the first is the default app of the dev controls. By
   * default two apps bound to one Open Platform account (SANDBOX_APPID and SANDBOX_SECOND_APPID).
   */
  apps?: readonly SandboxAppInput[];
  /** One app with this appid and secret instead of the default two (WECHAT_APPID, WECHAT_SECRET). */
  appid?: string;
  secret?: string;
  /** How long after media_check_async its verdict is pushed. */
  mediaCheckDelayMs?: number;
  /** The Tencent Cloud API key pair and SMS application accepted; SANDBOX_SMS's by default. */
  sms?: Partial<SmsCredentials>;
  /** Clock in epoch milliseconds; tests inject one to step past code and token lifetimes. */
  now?: () => number;
  /** Receives one line per call. Defaults to stdout. */
  log?: (line: string) => void;
  /** Map never-minted login codes to DEVTOOLS_OPENID (for WeChat DevTools without a real appid). */
  acceptUnknownCodes?: boolean;
}

export interface Sandbox {
  server: Server;
  state: SandboxState;
  apps: SandboxApps;
  reset(): void;
  /** Releases requests held by "timeout" faults and pending delays, then closes the server. */
  close(): Promise<void>;
}

export interface StartSandboxOptions extends SandboxOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
}

export interface RunningSandbox {
  url: string;
  /** Direct access for in-process tests, e.g. minting codes without an HTTP round trip. */
  state: SandboxState;
  port: number;
  close(): Promise<void>;
  reset(): void;
  stats(): SandboxStats;
  /** Sets where and how an app's messages are pushed, as `POST /__dev/push-config` does. */
  configurePush(appid: string, settings: PushSettings): void;
}

const DEV_PREFIX = "/__dev/";
/** Tencent Cloud API v3 takes every action at the root path, named by the X-TC-Action header. */
const TENCENT_PATH = "/";
const CORS_HEADERS: Readonly<Record<string, string>> = { "Access-Control-Allow-Origin": "*" };
const HTML_TYPE = "text/html; charset=utf-8";
const GATEWAY_ERROR_PAGE =
  "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n" +
  "<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const HTML_ERROR_PAGE =
  '<!DOCTYPE html><html><head><meta charset="utf-8"><title>系统错误</title></head>' +
  "<body><p>系统繁忙，请稍后再试。</p></body></html>";
/** What a connection cut mid-body looks like: the start of each api's success body. */
const TRUNCATED_BODY: Readonly<Record<SandboxApi, string>> = {
  jscode2session: '{"session_key":"q2mY0Jv3fTu',
  stable_token: '{"access_token":"86_Xq1',
  token: '{"access_token":"86_Xq1',
  getuserphonenumber: '{"errcode":0,"errmsg":"ok","phone_info":{"phoneNumber":"138',
  msg_sec_check: '{"errcode":0,"errmsg":"ok","result":{"sugg',
  media_check_async: '{"errcode":0,"errmsg":"ok","trace_',
};

/** First characters of a secret-bearing value, enough to correlate log lines, never to replay. */
function redact(value: string | null): string {
  return value ? `${value.slice(0, 4)}…` : "-";
}

/** The apps of `options`: `apps`, else the one `appid`/`secret` pair, else the default two. */
function appsOf(options: SandboxOptions): SandboxApps {
  const single = options.appid !== undefined || options.secret !== undefined;
  if (options.apps !== undefined && single) {
    throw new Error("give the sandbox apps, or one appid and secret, not both");
  }
  if (options.apps !== undefined) return new SandboxApps(SandboxAppsSchema.parse(options.apps));
  if (!single) return new SandboxApps(DEFAULT_SANDBOX_APPS);
  const [first] = DEFAULT_SANDBOX_APPS;
  return new SandboxApps([
    {
      appid: options.appid ?? first?.appid ?? "",
      secret: options.secret ?? first?.secret ?? "",
      unionBound: true,
    },
  ]);
}

export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const now = options.now ?? Date.now;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const apps = appsOf(options);
  const state = new SandboxState(now, options.acceptUnknownCodes ?? false);
  const pusher = new Pusher(state, log);
  const wechat = wechatRoutes(state, apps, pusher, {
    mediaCheckDelayMs: options.mediaCheckDelayMs ?? MEDIA_CHECK_DELAY_MS,
  });
  const tencentSms = tencentSmsApi(state, {
    secretId: options.sms?.secretId ?? SANDBOX_SMS.secretId,
    secretKey: options.sms?.secretKey ?? SANDBOX_SMS.secretKey,
    sdkAppId: options.sms?.sdkAppId ?? SANDBOX_SMS.sdkAppId,
  });
  const dev = devRoutes(state, apps, pusher);
  // Held and delayed requests, so close() does not wait up to two minutes for them.
  const pendingWaits = new Set<() => void>();

  /**
   * Waits `ms`; resolves false instead when the client hangs up or the sandbox closes first, so
   * the caller can drop a request nobody will read.
   */
  function wait(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (elapsed: boolean) => {
        clearTimeout(timer);
        res.off("close", hungUp);
        pendingWaits.delete(hungUp);
        resolve(elapsed);
      };
      const hungUp = () => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      res.on("close", hungUp);
      pendingWaits.add(hungUp);
    });
  }

  /** Answers as the armed fault says; returns what the log line shows. */
  async function answerFault(
    route: WechatRoute,
    errcode: NonNullable<Fault["errcode"]>,
    res: ServerResponse,
  ): Promise<string> {
    switch (errcode) {
      case "timeout":
        await wait(MAX_HOLD_MS, res);
        res.destroy();
        return "timeout";
      case "http500":
        send(res, 500, HTML_TYPE, GATEWAY_ERROR_PAGE);
        return "http500";
      case "html":
        send(res, 200, HTML_TYPE, HTML_ERROR_PAGE);
        return "html";
      case "truncated":
        send(res, 200, route.contentType, TRUNCATED_BODY[route.api]);
        return "truncated";
      default:
        send(res, 200, route.contentType, JSON.stringify(wechatError(errcode, now())));
        return String(errcode);
    }
  }

  async function serveWechat(
    route: WechatRoute,
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
  ): Promise<string> {
    const body = req.method === "POST" ? await readBody(req) : "";
    state.countCall(route.api);
    const fault = state.takeFault(route.api);
    // A caller that gave up never learns the outcome, so its code stays unused for the retry.
    if (fault?.delayMs !== undefined && !(await wait(fault.delayMs, res))) return "abandoned";
    if (fault?.errcode !== undefined) {
      return answerFault(route, fault.errcode, res);
    }
    const payload =
      req.method === route.method
        ? route.handle({ query, body })
        : wechatError(route.method === "POST" ? 43002 : 43001, now());
    send(res, 200, route.contentType, JSON.stringify(payload));
    return "errcode" in payload ? String(payload.errcode) : "0";
  }

  async function serveTencent(req: IncomingMessage, res: ServerResponse, query: string) {
    let answer: TencentAnswer;
    try {
      answer = tencentSms.handle({
        method: req.method ?? "",
        path: TENCENT_PATH,
        query,
        headers: req.headers,
        body: await readBodyBytes(req),
      });
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      answer = requestTooLarge();
    }
    send(res, 200, JSON_TYPE, JSON.stringify(answer.body));
    return answer.summary;
  }

  async function serveDev(
    path: string,
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
  ) {
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...CORS_HEADERS,
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": req.headers["access-control-request-headers"] ?? "*",
        "Access-Control-Max-Age": "600",
      });
      res.end();
      return "204";
    }
    const route = dev.get(path);
    const reply =
      route === undefined
        ? { status: 404, body: { error: `unknown dev control ${path}` } }
        : req.method !== route.method
          ? { status: 405, body: { error: `${path} takes ${route.method}` } }
          : await route.handle(req.method === "POST" ? await readBody(req) : "", query);
    send(res, reply.status, JSON_TYPE, JSON.stringify(reply.body), CORS_HEADERS);
    return String(reply.status);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const target = req.url ?? "/";
    const queryStart = target.indexOf("?");
    // The query carries the secret, codes and tokens: only the path is ever logged.
    const path = queryStart === -1 ? target : target.slice(0, queryStart);
    const rawQuery = queryStart === -1 ? "" : target.slice(queryStart + 1);
    const query = new URLSearchParams(rawQuery);
    const route = wechat.get(path);
    let api: string = route?.api ?? (path.startsWith(DEV_PREFIX) ? "dev" : "-");
    let result: string;
    try {
      if (route !== undefined) {
        result = `errcode=${await serveWechat(route, req, res, query)}`;
        if (route.api === "jscode2session") api += ` code=${redact(query.get("js_code"))}`;
      } else if (path.startsWith(DEV_PREFIX)) {
        result = `status=${await serveDev(path, req, res, query)}`;
      } else if (path === TENCENT_PATH) {
        api = String(req.headers["x-tc-action"] ?? "-");
        result = await serveTencent(req, res, rawQuery);
      } else {
        send(res, 404, JSON_TYPE, JSON.stringify(wechatError(-1, now())));
        result = "status=404";
      }
    } catch (error) {
      const tooLarge = error instanceof BodyTooLargeError;
      if (route !== undefined) {
        send(res, 200, route.contentType, JSON.stringify(wechatError(47001, now())));
        result = "errcode=47001";
      } else {
        const status = tooLarge ? 413 : 400;
        const message = tooLarge ? error.message : "could not read the request body";
        send(res, status, JSON_TYPE, JSON.stringify({ error: message }), CORS_HEADERS);
        result = `status=${status}`;
      }
    }
    const ms = (performance.now() - started).toFixed(1);
    log(`${req.method ?? "?"} ${path} api=${api} ${result} ${ms}ms`);
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error("wechat-mock: request failed", error);
      if (!res.headersSent) res.destroy();
    });
  });
  server.keepAliveTimeout = 10_000;

  return {
    server,
    state,
    apps,
    reset: () => state.reset(),
    async close() {
      pusher.close();
      for (const release of [...pendingWaits]) release();
      if (!server.listening) return;
      const closed = once(server, "close");
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

export async function startSandbox(options: StartSandboxOptions = {}): Promise<RunningSandbox> {
  const { port = 0, host = "127.0.0.1", ...sandboxOptions } = options;
  const sandbox = createSandbox(sandboxOptions);
  sandbox.server.listen(port, host);
  await once(sandbox.server, "listening");
  const address = sandbox.server.address() as AddressInfo;
  const urlHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    state: sandbox.state,
    close: () => sandbox.close(),
    reset: sandbox.reset,
    stats: () => sandbox.state.stats(),
    configurePush(appid, settings) {
      if (!sandbox.apps.configurePush(appid, settings)) {
        throw new Error(`${appid} is not one of the sandbox's apps`);
      }
    },
  };
}
