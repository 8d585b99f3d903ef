import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the fake saw it. */
export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The parsed JSON body, or undefined for GET / non-JSON bodies. */
  body: unknown;
}

export type FakeHandler = (request: FakeRequest, response: ServerResponse) => void | Promise<void>;

export const PATHS = {
  jscode2session: "/sns/jscode2session",
  stableToken: "/cgi-bin/stable_token",
  token: "/cgi-bin/token",
  phone: "/wxa/business/getuserphonenumber",
  msgSecCheck: "/wxa/msg_sec_check",
  mediaCheckAsync: "/wxa/media_check_async",
} as const;

export const FAKE_APPID = "wx-test-appid";
export const FAKE_SECRET = "test-secret-0123456789";

/** Sends `body` as JSON text; WeChat itself labels jscode2session replies text/plain. */
export function send(
  response: ServerResponse,
  body: unknown,
  options: { status?: number; contentType?: string } = {},
): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  response.writeHead(options.status ?? 200, {
    "content-type": options.contentType ?? "application/json; charset=utf-8",
  });
  response.end(text);
}

export function wechatError(errcode: number, errmsg = "error"): FakeHandler {
  return (_request, response) =>
    send(response, { errcode, errmsg: `${errmsg}, rid: 6123abcd-0a1b2c3d-4e5f6a7b` });
}

/** Handles the first calls with `first`, one each, then everything else with `rest`. */
export function sequence(first: FakeHandler[], rest: FakeHandler): FakeHandler {
  let index = 0;
  return (request, response) => (first[index++] ?? rest)(request, response);
}

export function delayed(ms: number, handler: FakeHandler): FakeHandler {
  return async (request, response) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    await handler(request, response);
  };
}

/** Never answers: the client's budget has to end the call. */
export const hang: FakeHandler = () => {};

/**
 * A scriptable WeChat on a real HTTP server (ephemeral port). By default it behaves like WeChat
 * on a good day: any code is valid, tokens are minted `token-1`, `token-2`, ... and getPhoneNumber
 * accepts only tokens minted and not revoked. Tests replace handlers per path and read `calls`.
 */
export class FakeWechat {
  readonly calls = new Map<string, FakeRequest[]>();
  /** Tokens the fake accepts on getuserphonenumber. */
  readonly validTokens = new Set<string>();
  tokenLifetimeS = 7200;
  private tokensMinted = 0;
  private readonly handlers = new Map<string, FakeHandler>();

  private readonly server: Server;
  private port = 0;

  private constructor() {
    this.server = createServer((request, response) => {
      void this.dispatch(request, response);
    });
    this.reset();
  }

  static async start(): Promise<FakeWechat> {
    const fake = new FakeWechat();
    await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  on(path: string, handler: FakeHandler): void {
    this.handlers.set(path, handler);
  }

  count(path: string): number {
    return this.calls.get(path)?.length ?? 0;
  }

  requests(path: string): FakeRequest[] {
    return this.calls.get(path) ?? [];
  }

  mintToken(): string {
    const token = `token-${++this.tokensMinted}`;
    this.validTokens.add(token);
    return token;
  }

  reset(): void {
    this.calls.clear();
    this.validTokens.clear();
    this.tokensMinted = 0;
    this.tokenLifetimeS = 7200;
    this.handlers.clear();
    this.on(PATHS.jscode2session, (request, response) => {
      const code = request.query.get("js_code") ?? "";
      send(
        response,
        {
          openid: `openid-${code}`,
          session_key: `session-key-${code}`,
          unionid: `unionid-${code}`,
        },
        { contentType: "text/plain" },
      );
    });
    const tokenHandler: FakeHandler = (_request, response) =>
      send(response, { access_token: this.mintToken(), expires_in: this.tokenLifetimeS });
    this.on(PATHS.stableToken, tokenHandler);
    this.on(PATHS.token, tokenHandler);
    this.on(PATHS.phone, phoneReply({ countryCode: "86", purePhoneNumber: "13800138000" }, this));
    this.on(PATHS.msgSecCheck, msgSecCheckReply({ suggest: "pass", label: 100 }, this));
    this.on(
      PATHS.mediaCheckAsync,
      withValidToken(this, (_request, response) =>
        send(response, { errcode: 0, errmsg: "ok", trace_id: "trace-media-1" }),
      ),
    );
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async dispatch(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://fake");
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    const seen: FakeRequest = {
      method: request.method ?? "GET",
      path: url.pathname,
      query: url.searchParams,
      body,
    };
    const list = this.calls.get(url.pathname) ?? [];
    list.push(seen);
    this.calls.set(url.pathname, list);
    const handler = this.handlers.get(url.pathname);
    if (!handler) return send(response, { errcode: 404, errmsg: "no such api" }, { status: 404 });
    await handler(seen, response);
  }
}

/** Answers WeChat's 40001 to a token `fake` did not mint (or revoked), else runs `handler`. */
export function withValidToken(fake: FakeWechat, handler: FakeHandler): FakeHandler {
  return (request, response) => {
    if (fake.validTokens.has(request.query.get("access_token") ?? "")) {
      return handler(request, response);
    }
    send(response, {
      errcode: 40001,
      errmsg:
        "invalid credential, access_token is invalid or not latest, rid: 6123abcd-0a1b2c3d-4e5f6a7b",
    });
  };
}

/** msg_sec_check answering with `result` (label as given: a number or a string). */
export function msgSecCheckReply(
  result: { suggest: string; label: number | string },
  fake: FakeWechat,
): FakeHandler {
  return withValidToken(fake, (_request, response) =>
    send(response, {
      errcode: 0,
      errmsg: "ok",
      result,
      detail: [
        { strategy: "content_model", errcode: 0, ...result, prob: 90 },
        { strategy: "keyword", errcode: 0 },
      ],
      trace_id: "trace-text-1",
    }),
  );
}

/** getuserphonenumber answering with the given number, for tokens `fake` accepts. */
export function phoneReply(
  phone: { countryCode: string | number; purePhoneNumber: string; appid?: string },
  fake: FakeWechat,
): FakeHandler {
  return (request, response) => {
    const token = request.query.get("access_token") ?? "";
    if (!fake.validTokens.has(token)) {
      return send(response, {
        errcode: 40001,
        errmsg:
          "invalid credential, access_token is invalid or not latest, rid: 6123abcd-0a1b2c3d-4e5f6a7b",
      });
    }
    send(response, {
      errcode: 0,
      errmsg: "ok",
      phone_info: {
        phoneNumber: `${phone.purePhoneNumber}`,
        purePhoneNumber: phone.purePhoneNumber,
        countryCode: phone.countryCode,
        watermark: { timestamp: 1_700_000_000, appid: phone.appid ?? FAKE_APPID },
      },
    });
  };
}

/** A jscode2session success for openid `openid`. */
export function code2SessionReply(openid: string): FakeHandler {
  return (_request, response) => send(response, { openid, session_key: `session-key-${openid}` });
}

/** A port nothing listens on: for network errors. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Records every log line, to check what the client logs and that no secret is among it. */
export function recordingLogger() {
  const lines: { level: string; obj: object; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, obj, msg });
  };
  return {
    lines,
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
  };
}
