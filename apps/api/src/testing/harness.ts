/*
 * Boots the WeChat sandbox and the API (real HTTP, both on port 0) on a fresh database, with
 * helpers for the flows tests need. Fault, fuzz and bench suites reuse it. Each gets a PostgreSQL
 * database of its own, a copy of the run's migrated template.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import {
  AuthenticatedSessionSchema,
  ErrorBodySchema,
  WechatLoginResponseSchema,
  type AuthenticatedSession,
  type ErrorBody,
  type ErrorCode,
  type WechatLoginResponse,
} from "@wxauth/contracts";
import type {
  SandboxAppInput,
  SandboxFailRequest,
  SandboxLoginCodeRequest,
  SandboxStats,
} from "@wxauth/contracts/sandbox";
import { startSandbox, type RunningSandbox } from "@wxauth/wechat-mock";
import { inject } from "vitest";
import { createApp } from "../app.js";
import type { Clock } from "../clock.js";
import { loadConfig, type Config, type Env } from "../config.js";
import { buildDependencies, type Dependencies, type DependencyOverrides } from "../dependencies.js";
import { createLogger } from "../http/logger.js";
import { createHttpServer } from "../http/server.js";
import { createTestDatabase, dropTestDatabase, uniqueTestDatabaseName } from "./postgres.js";

/** A clock tests can move forward (ticket expiry, token expiry, grace windows). */
export class ManualClock implements Clock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  body: unknown;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string | string[]>;
  /** Sent as is. */
  body?: string | Buffer;
}

export interface TestApi {
  url: string;
  sandbox: RunningSandbox;
  deps: Dependencies;
  config: Config;
  clock: ManualClock;
  /** Every log line the API wrote, when started with `captureLogs`. */
  logs: string[];
  /** JSON request: `body` is serialised, `token` becomes the Bearer header. */
  request(
    method: string,
    path: string,
    options?: { body?: unknown; token?: string; headers?: Record<string, string> },
  ): Promise<HttpResult>;
  raw(request: RawRequest): Promise<HttpResult>;
  /**
   * A wx.login code from the sandbox, of its first app unless `appid` says: a new random openid
   * unless one is given, or the openid of `person` (a stable key) in that app.
   */
  loginCode(
    identity?: SandboxLoginCodeRequest,
  ): Promise<{ code: string; openid: string; unionid?: string }>;
  /** The code of the newest SMS the sandbox accepted for `phone` (E.164), if any. */
  smsCode(phone: string): string | undefined;
  /**
   * A getPhoneNumber code for a national number (default country 86), bound to `openid` if given,
   * minted for `appid` (else the openid's app, else the sandbox's first).
   */
  phoneCode(
    phoneNumber: string,
    openid?: string,
    countryCode?: string,
    appid?: string,
  ): Promise<string>;
  fail(fault: SandboxFailRequest): Promise<void>;
  stats(): Promise<SandboxStats>;
  /** POST /api/auth/wechat/login with a code, from `appid` when given. */
  login(code: string, appid?: string): Promise<WechatLoginResponse>;
  /**
   * The whole phone-mode sign-up of a new WeChat user: login, then register with the phone (a
   * phone code minted for the same app).
   */
  register(
    options?: SandboxLoginCodeRequest & { phoneNumber?: string },
  ): Promise<AuthenticatedSession & { openid: string }>;
  close(): Promise<void>;
}

let phoneCounter = 0;
/** A mainland mobile number no other call in this process has used. */
export function uniquePhoneNumber(): string {
  phoneCounter += 1;
  return `139${String(process.pid % 10_000).padStart(4, "0")}${String(phoneCounter).padStart(4, "0")}`;
}

export function expectErrorBody(result: HttpResult, code: ErrorCode): ErrorBody {
  const parsed = ErrorBodySchema.safeParse(result.body);
  if (!parsed.success) {
    throw new Error(`expected an error body, got ${result.status} ${result.text.slice(0, 300)}`);
  }
  if (parsed.data.error.code !== code) {
    throw new Error(`expected ${code}, got ${result.status} ${result.text.slice(0, 300)}`);
  }
  return parsed.data;
}

/**
 * Sends the request exactly as given: the path is not resolved as a URL (so "//x" stays a path),
 * and a body is framed with Content-Length unless the headers ask for chunked encoding (Node would
 * otherwise write a GET's body as bare bytes, which a server reads as a broken second request).
 */
export function send(baseUrl: string, request: RawRequest): Promise<HttpResult> {
  const { hostname, port } = new URL(baseUrl);
  const headers: http.OutgoingHttpHeaders = { ...request.headers };
  const chunked = Object.keys(headers).some((name) => name.toLowerCase() === "transfer-encoding");
  if (request.body !== undefined && !chunked) {
    headers["content-length"] = String(Buffer.byteLength(request.body));
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname,
        port,
        path: request.path,
        method: request.method ?? "GET",
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (request.body !== undefined) req.write(request.body);
    req.end();
  });
}

export interface SuiteDatabase {
  url: string;
  /** Deletes the database; close every client on it first. */
  drop(): Promise<void>;
}

/** A fresh, migrated database of this test run: a copy of its template. */
export async function createSuiteDatabase(): Promise<SuiteDatabase> {
  const { template } = inject("testDatabase");
  const name = uniqueTestDatabaseName(template);
  const url = await createTestDatabase(name, template);
  return { url, drop: () => dropTestDatabase(name) };
}

/**
 * Starts a sandbox and an API. `env` overrides the test configuration (same names as the real
 * environment); `captureLogs` records the API's log lines at `info` level or the given one;
 * `overrides` swaps dependencies (a broken database, say). A DATABASE_URL in `env` is used as is
 * (and left in place on close); otherwise the API gets a fresh database of its own.
 * `sandboxApps` replaces the sandbox's two default apps (bound to one Open Platform account).
 */
export async function startTestApi(
  options: {
    env?: Env;
    captureLogs?: boolean | string;
    overrides?: DependencyOverrides;
    sandboxApps?: SandboxAppInput[];
  } = {},
): Promise<TestApi> {
  const sandbox = await startSandbox({
    port: 0,
    host: "127.0.0.1",
    log: () => {},
    apps: options.sandboxApps,
  });
  const database = options.env?.DATABASE_URL ? undefined : await createSuiteDatabase();

  const config = loadConfig({
    NODE_ENV: "test",
    DATABASE_URL: database?.url,
    WECHAT_API_BASE_URL: sandbox.url,
    WECHAT_TIMEOUT_MS: "3000",
    // The sandbox stands in for Tencent Cloud SMS too, with its credentials (the test defaults).
    SMS_PROVIDER: "tencent",
    TENCENT_SMS_ENDPOINT: sandbox.url,
    AUTH_RATE_LIMIT_PER_MINUTE: "1000000",
    LOG_LEVEL: "silent",
    ...options.env,
  });
  const logs: string[] = [];
  const logger = options.captureLogs
    ? createLogger(
        typeof options.captureLogs === "string" ? options.captureLogs : "info",
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            logs.push(...chunk.toString("utf8").split("\n").filter(Boolean));
            done();
          },
        }),
      )
    : createLogger(config.logLevel);
  const clock = new ManualClock();
  const deps = await buildDependencies(config, logger, { clock, ...options.overrides });
  const server = createHttpServer(createApp(deps), logger).listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const request: TestApi["request"] = (method, requestPath, { body, token, headers } = {}) =>
    send(url, {
      method,
      path: requestPath,
      headers: {
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const dev = async <T>(devPath: string, body?: unknown): Promise<T> => {
    const result = await send(sandbox.url, {
      method: body === undefined ? "GET" : "POST",
      path: devPath,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (result.status !== 200)
      throw new Error(`sandbox ${devPath}: ${result.status} ${result.text}`);
    return result.body as T;
  };

  const api: TestApi = {
    url,
    sandbox,
    deps,
    config,
    clock,
    logs,
    request,
    raw: (raw) => send(url, raw),
    loginCode: (identity = {}) => dev("/__dev/login-code", identity),
    smsCode: (phone) => sandbox.state.smsMessages(phone)[0]?.params[0],
    phoneCode: async (phoneNumber, openid, countryCode, appid) =>
      (
        await dev<{ code: string }>("/__dev/phone-code", {
          phoneNumber,
          ...(openid ? { openid } : {}),
          ...(countryCode ? { countryCode } : {}),
          ...(appid ? { appid } : {}),
        })
      ).code,
    fail: async (fault) => {
      await dev("/__dev/fail", fault);
    },
    stats: () => dev("/__dev/stats"),
    async login(code, appid) {
      const result = await request("POST", "/api/auth/wechat/login", {
        body: appid === undefined ? { code } : { code, appid },
      });
      if (result.status !== 200) throw new Error(`login: ${result.status} ${result.text}`);
      return WechatLoginResponseSchema.parse(result.body);
    },
    async register({ phoneNumber = uniquePhoneNumber(), ...identity } = {}) {
      const login = await api.loginCode(identity);
      const answer = await api.login(login.code, identity.appid);
      if (answer.status !== "registration_required") {
        throw new Error(`register: expected registration_required, got ${answer.status}`);
      }
      const phoneCode = await api.phoneCode(phoneNumber, login.openid, undefined, identity.appid);
      const result = await request("POST", "/api/auth/wechat/register", {
        body: { registrationTicket: answer.registrationTicket, phoneCode },
      });
      if (result.status !== 201) throw new Error(`register: ${result.status} ${result.text}`);
      return { ...AuthenticatedSessionSchema.parse(result.body), openid: login.openid };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await deps.close();
      await sandbox.close();
      await database?.drop();
    },
  };
  return api;
}
