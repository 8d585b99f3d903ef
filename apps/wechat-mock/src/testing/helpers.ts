import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect } from "vitest";
import { sms } from "tencentcloud-sdk-nodejs-sms";
import {
  SANDBOX_APPID,
  SANDBOX_SECRET,
  SANDBOX_SMS,
  startSandbox,
  type RunningSandbox,
  type StartSandboxOptions,
} from "../index.js";

const running: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((sandbox) => sandbox.close()));
});

/** One request a PushReceiver got. */
export interface ReceivedPush {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: string;
}

export interface PushReceiver {
  /** The push address, e.g. `http://127.0.0.1:1234/api/wechat/push/wxsandbox0000000001`. */
  url: string;
  received: ReceivedPush[];
  /** What it answers (HTTP 200); `success` by default. */
  answer: string;
  close(): Promise<void>;
}

/** A developer server that records the pushes it gets and answers `answer`. */
export async function pushReceiver(path = "/push"): Promise<PushReceiver> {
  const received: ReceivedPush[] = [];
  const receiver: PushReceiver = {
    url: "",
    received,
    answer: "success",
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://receiver");
      received.push({
        method: req.method ?? "",
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        contentType: req.headers["content-type"],
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.writeHead(200, { "content-type": "text/plain" }).end(receiver.answer);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  running.push(receiver);
  return receiver;
}

/** A settable clock in epoch ms, so tests step past code and token lifetimes instantly. */
export interface ManualClock {
  now: () => number;
  advance(ms: number): void;
}

export function manualClock(start = Date.UTC(2026, 10, 20, 12)): ManualClock {
  let current = start;
  return {
    now: () => current,
    advance(ms) {
      current += ms;
    },
  };
}

export interface TestSandbox extends RunningSandbox {
  clock: ManualClock;
  logs: string[];
  get(path: string, init?: RequestInit): Promise<Response>;
  post(path: string, body: unknown, init?: RequestInit): Promise<Response>;
  /** POST a JSON body and parse the JSON answer, asserting nothing about the status. */
  postJson<T = Record<string, unknown>>(path: string, body: unknown): Promise<T>;
  getJson<T = Record<string, unknown>>(path: string): Promise<T>;
  loginCode(body?: {
    openid?: string;
    unionid?: string;
    appid?: string;
    person?: string;
  }): Promise<{ code: string; openid: string; appid: string; unionid?: string }>;
  phoneCode(body: {
    phoneNumber: string;
    countryCode?: string | number;
    openid?: string;
    appid?: string;
  }): Promise<string>;
  exchange(code: string, overrides?: Record<string, string>): Promise<Record<string, unknown>>;
  stableToken(forceRefresh?: boolean): Promise<Record<string, unknown>>;
  /** A stable_token of another app: its access_token. */
  accessTokenOf(appid: string, secret: string): Promise<string>;
  phoneNumber(accessToken: string, body: unknown): Promise<Record<string, unknown>>;
}

export async function testSandbox(options: StartSandboxOptions = {}): Promise<TestSandbox> {
  const clock = manualClock();
  const logs: string[] = [];
  const sandbox = await startSandbox({
    now: clock.now,
    log: (line) => logs.push(line),
    ...options,
  });
  running.push(sandbox);
  const get = (path: string, init?: RequestInit) => fetch(`${sandbox.url}${path}`, init);
  const post = (path: string, body: unknown, init?: RequestInit) =>
    fetch(`${sandbox.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
      ...init,
    });
  const postJson = async <T>(path: string, body: unknown) =>
    (await (await post(path, body)).json()) as T;
  const getJson = async <T>(path: string) => (await (await get(path)).json()) as T;
  return {
    ...sandbox,
    clock,
    logs,
    get,
    post,
    postJson,
    getJson,
    loginCode: (body = {}) => postJson("/__dev/login-code", body),
    phoneCode: async (body) => (await postJson<{ code: string }>("/__dev/phone-code", body)).code,
    exchange: (code, overrides = {}) =>
      getJson(`/sns/jscode2session?${exchangeQuery(code, overrides)}`),
    stableToken: (forceRefresh) =>
      postJson("/cgi-bin/stable_token", {
        grant_type: "client_credential",
        appid: SANDBOX_APPID,
        secret: SANDBOX_SECRET,
        ...(forceRefresh === undefined ? {} : { force_refresh: forceRefresh }),
      }),
    accessTokenOf: async (appid, secret) =>
      String(
        (
          await postJson<{ access_token: string }>("/cgi-bin/stable_token", {
            grant_type: "client_credential",
            appid,
            secret,
          })
        ).access_token,
      ),
    phoneNumber: (accessToken, body) =>
      postJson(`/wxa/business/getuserphonenumber?access_token=${accessToken}`, body),
  };
}

/** The query of a jscode2session call with the default credentials. */
export function exchangeQuery(
  code: string,
  overrides: Record<string, string> = {},
): URLSearchParams {
  return new URLSearchParams({
    appid: SANDBOX_APPID,
    secret: SANDBOX_SECRET,
    js_code: code,
    grant_type: "authorization_code",
    ...overrides,
  });
}

/** The query of a /cgi-bin/token call with the default credentials. */
export function tokenQuery(overrides: Record<string, string> = {}): URLSearchParams {
  return new URLSearchParams({
    grant_type: "client_credential",
    appid: SANDBOX_APPID,
    secret: SANDBOX_SECRET,
    ...overrides,
  });
}

/** WeChat's error shape: errcode plus errmsg ending in `, rid: <hex>-<hex>-<hex>`. */
export function expectErrcode(body: Record<string, unknown>, errcode: number): void {
  expect(body).toMatchObject({ errcode });
  expect(body.errmsg).toMatch(/, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
}

export type SmsClient = InstanceType<typeof sms.v20210111.Client>;

/**
 * Tencent's official SMS client pointed at a sandbox, as the API configures it: endpoint
 * host:port over plain http. The sandbox's default credentials unless told otherwise.
 */
export function smsClient(
  sandboxUrl: string,
  credential: { secretId?: string; secretKey?: string } = {},
): SmsClient {
  return new sms.v20210111.Client({
    credential: {
      secretId: credential.secretId ?? SANDBOX_SMS.secretId,
      secretKey: credential.secretKey ?? SANDBOX_SMS.secretKey,
    },
    region: "ap-guangzhou",
    profile: {
      httpProfile: {
        endpoint: new URL(sandboxUrl).host,
        protocol: "http://",
        reqTimeout: 5,
      },
    },
  });
}

/** A SendSms request with the sandbox's application, sign and template. */
export function sendSmsRequest(phones: string[], params: string[] = ["123456", "5"]) {
  return {
    PhoneNumberSet: phones,
    SmsSdkAppId: SANDBOX_SMS.sdkAppId,
    SignName: SANDBOX_SMS.signName,
    TemplateId: SANDBOX_SMS.templateId,
    TemplateParamSet: params,
  };
}
