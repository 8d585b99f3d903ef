import { ErrorBodySchema, HealthResponseSchema } from "@wxauth/contracts";
import { once } from "node:events";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectErrorBody,
  startTestApi,
  type HttpResult,
  type RawRequest,
  type TestApi,
} from "../testing/harness.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

const json = { "content-type": "application/json" };

/** Every 4xx/5xx must carry the contract's error body with the request id. */
function expectWellFormedError(result: HttpResult): void {
  const parsed = ErrorBodySchema.safeParse(result.body);
  if (!parsed.success)
    throw new Error(`${result.status} without the error body: ${result.text.slice(0, 200)}`);
  expect(parsed.data.error.requestId).toBe(result.headers["x-request-id"]);
}

describe("bad-input battery: never a 5xx, every 4xx with the error body", () => {
  const routes = [
    "/api/auth/wechat/login",
    "/api/auth/wechat/register",
    "/api/auth/refresh",
    "/api/auth/logout",
    "/api/me/phone",
  ];
  const bodies: Array<[string, string, Record<string, string>]> = [
    ["malformed JSON", "{", json],
    ["trailing garbage", '{"code":"a"} x', json],
    ["a JSON string", '"code"', json],
    ["a JSON number", "42", json],
    ["null", "null", json],
    ["an array", '[{"code":"abc"}]', json],
    ["an empty body", "", json],
    [
      "wrong types",
      '{"code":123,"registrationTicket":[],"phoneCode":{},"refreshToken":true}',
      json,
    ],
    [
      "__proto__ keys",
      '{"__proto__":{"isAdmin":true},"code":"c","constructor":{"prototype":{"x":1}}}',
      json,
    ],
    ["deep nesting", `${"[".repeat(5000)}${"]".repeat(5000)}`, json],
    ["form encoding", "code=abc", { "content-type": "application/x-www-form-urlencoded" }],
    ["text/plain", '{"code":"abc"}', { "content-type": "text/plain" }],
    [
      "an unknown charset",
      '{"code":"abc"}',
      { "content-type": "application/json; charset=klingon" },
    ],
    ["gzip that is not gzip", '{"code":"abc"}', { ...json, "content-encoding": "gzip" }],
    ["an unknown encoding", '{"code":"abc"}', { ...json, "content-encoding": "br2" }],
    ["invalid UTF-8", "\uFFFD", json],
    ["an oversized code", JSON.stringify({ code: "x".repeat(300) }), json],
  ];
  for (const route of routes) {
    it.each(bodies)(`POST ${route} with %s`, async (_name, body, headers) => {
      const result = await api.raw({ method: "POST", path: route, headers, body });
      expect(result.status).toBeGreaterThanOrEqual(400);
      expect(result.status).toBeLessThan(500);
      expectWellFormedError(result);
    });
  }

  it("answers a too-large body with 413 PAYLOAD_TOO_LARGE", async () => {
    const result = await api.raw({
      method: "POST",
      path: "/api/auth/wechat/login",
      headers: json,
      body: JSON.stringify({ code: "x".repeat(64 * 1024) }),
    });
    expect(result.status).toBe(413);
    expectErrorBody(result, "PAYLOAD_TOO_LARGE");
  });

  it("answers malformed JSON with a readable 400", async () => {
    const result = await api.raw({
      method: "POST",
      path: "/api/auth/wechat/login",
      headers: json,
      body: "{",
    });
    expect(result.status).toBe(400);
    expect(expectErrorBody(result, "VALIDATION_FAILED").error.message).toMatch(/not valid JSON/);
  });

  it("refuses a string that is not well-formed UTF-16 and keeps surrogate pairs", async () => {
    const session = await api.register();
    const nickname = (value: string) =>
      api.raw({
        method: "PATCH",
        path: "/api/me",
        headers: { ...json, authorization: `Bearer ${session.accessToken}` },
        body: `{"nickname":"${value}"}`,
      });
    const loneSurrogate = await nickname("a\\udc00b");
    expect(loneSurrogate.status).toBe(400);
    expect(expectErrorBody(loneSurrogate, "VALIDATION_FAILED").error.message).toMatch(
      /not well-formed UTF-16/,
    );
    expectWellFormedError(loneSurrogate);
    // An emoji is a well-formed pair, escaped or not.
    const pair = await nickname("\\ud83d\\ude00 \u{1F600}");
    expect(pair.status, pair.text).toBe(200);
    expect((pair.body as { nickname: string }).nickname).toBe("\u{1F600} \u{1F600}");
  });

  it("names the failing field", async () => {
    const result = await api.request("POST", "/api/auth/wechat/register", {
      body: { phoneCode: "x" },
    });
    expect(expectErrorBody(result, "VALIDATION_FAILED").error.message).toMatch(
      /registrationTicket/,
    );
  });

  it("does not let __proto__ pollute anything", async () => {
    const result = await api.raw({
      method: "PATCH",
      path: "/api/me",
      headers: json,
      body: '{"__proto__":{"polluted":true},"nickname":"x"}',
    });
    expect(result.status).toBe(401);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const session = await api.register();
    const patched = await api.raw({
      method: "PATCH",
      path: "/api/me",
      headers: { ...json, authorization: `Bearer ${session.accessToken}` },
      body: '{"__proto__":{"polluted":true},"nickname":"x"}',
    });
    expect(patched.status).toBeLessThan(500);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each<[string, RawRequest]>([
    ["an odd method", { method: "DELETE", path: "/api/me" }],
    ["PUT on login", { method: "PUT", path: "/api/auth/wechat/login", headers: json, body: "{}" }],
    ["a bad percent-encoding", { method: "GET", path: "/api/%E0%A4%A" }],
    [
      "a huge bearer",
      { path: "/api/me", headers: { authorization: `Bearer ${"a".repeat(8000)}` } },
    ],
    [
      "two bearer tokens",
      { path: "/api/me", headers: { authorization: "Bearer a.b.c, Bearer d.e.f" } },
    ],
    ["a lower-case scheme", { path: "/api/me", headers: { authorization: "bearer x.y.z" } }],
    [
      "an odd request id",
      { path: "/api/nope", headers: { "x-request-id": "<script>alert(1)</script>" } },
    ],
    [
      "a forwarded-for header",
      { path: "/api/me", headers: { "x-forwarded-for": "1.2.3.4, ::1, junk" } },
    ],
    ["a weird accept", { path: "/api/me", headers: { accept: "image/png" } }],
    ["a body on GET", { path: "/api/me", headers: json, body: "{" }],
  ])("survives %s", async (_name, request) => {
    const result = await api.raw(request);
    expect(result.status).toBeGreaterThanOrEqual(400);
    expect(result.status).toBeLessThan(500);
    expectWellFormedError(result);
  });
});

describe("HTTP basics", () => {
  it("answers unknown routes with 404 NOT_FOUND", async () => {
    for (const path of ["/", "/api", "/api/nope", "/api/auth/nope", "/api/me/nope"]) {
      const result = await api.request("GET", path);
      expect(result.status).toBe(404);
      expectErrorBody(result, "NOT_FOUND");
    }
  });

  it("sets helmet headers and hides x-powered-by", async () => {
    const result = await api.request("GET", "/api/health");
    expect(result.headers["x-powered-by"]).toBeUndefined();
    expect(result.headers["x-content-type-options"]).toBe("nosniff");
    expect(result.headers["strict-transport-security"]).toBeDefined();
    expect(result.headers["content-security-policy"]).toBeDefined();
  });

  it("echoes a sane X-Request-Id and replaces a bad one", async () => {
    const sane = await api.request("GET", "/api/nope", {
      headers: { "x-request-id": "trace-1234abcd" },
    });
    expect(sane.headers["x-request-id"]).toBe("trace-1234abcd");
    expect(expectErrorBody(sane, "NOT_FOUND").error.requestId).toBe("trace-1234abcd");
    const bad = await api.request("GET", "/api/nope", { headers: { "x-request-id": "x y" } });
    expect(bad.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("GET /api/health answers ok", async () => {
    const result = await api.request("GET", "/api/health");
    expect(result.status).toBe(200);
    expect(HealthResponseSchema.parse(result.body)).toEqual({ status: "ok" });
  });
});

describe("requests Node's HTTP parser refuses before Express sees them", () => {
  /** Writes `request` on a bare socket and reads the whole answer, which must close the socket. */
  async function rawExchange(request: string): Promise<HttpResult> {
    const socket = net.connect(Number(new URL(api.url).port), "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.end(request);
    await once(socket, "close");
    const text = Buffer.concat(chunks).toString("utf8");
    const [head = "", body = ""] = text.split("\r\n\r\n");
    const [statusLine = "", ...headerLines] = head.split("\r\n");
    const headers = Object.fromEntries(
      headerLines.map((line) => {
        const colon = line.indexOf(":");
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      }),
    );
    return {
      status: Number(statusLine.split(" ")[1]),
      headers,
      text: body,
      body: body ? (JSON.parse(body) as unknown) : undefined,
    };
  }

  it("headers over 16 kB get 431 REQUEST_HEADER_TOO_LARGE with the error body and a request id", async () => {
    const result = await rawExchange(
      `GET /api/health HTTP/1.1\r\nHost: x\r\nX-Padding: ${"p".repeat(20_000)}\r\n\r\n`,
    );
    expect(result.status).toBe(431);
    expectErrorBody(result, "REQUEST_HEADER_TOO_LARGE");
    expectWellFormedError(result);
    expect(result.headers["content-type"]).toMatch(/^application\/json/);
  });

  it("a malformed request gets 400 VALIDATION_FAILED with the error body and a request id", async () => {
    const result = await rawExchange("GET /api/health HTTP/1.1\r\nHost x\r\n\r\n");
    expect(result.status).toBe(400);
    expect(expectErrorBody(result, "VALIDATION_FAILED").error.message).toMatch(
      /not well-formed HTTP/,
    );
    expectWellFormedError(result);
  });

  it("keeps serving afterwards", async () => {
    expect((await api.request("GET", "/api/health")).status).toBe(200);
  });
});

describe("CORS", () => {
  const preflight = (origin: string) =>
    api.raw({
      method: "OPTIONS",
      path: "/api/auth/wechat/login",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });

  it("opens to the H5 dev origin", async () => {
    const result = await preflight("http://localhost:5173");
    expect(result.headers["access-control-allow-origin"]).toBe("http://localhost:5173");
  });

  it("stays closed to any other origin", async () => {
    const result = await preflight("https://evil.example");
    expect(result.headers["access-control-allow-origin"]).toBeUndefined();
  });
});

describe("docs", () => {
  it("serves the OpenAPI document generated from the contract", async () => {
    const result = await api.request("GET", "/api/openapi.json");
    expect(result.status).toBe(200);
    const document = result.body as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(["/api/auth/wechat/login", "/api/auth/wechat/register", "/api/me"]),
    );
  });

  it("serves Swagger UI from local files", async () => {
    const page = await api.request("GET", "/api/docs");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/text\/html/);
    for (const asset of [
      "/api/docs/swagger-ui-bundle.js",
      "/api/docs/swagger-ui.css",
      "/api/docs/init.js",
    ]) {
      expect(page.text.includes(asset) || asset.endsWith("init.js")).toBe(true);
      const result = await api.request("GET", asset);
      expect(result.status).toBe(200);
      expect(result.text.length).toBeGreaterThan(10);
    }
    expectErrorBody(await api.request("GET", "/api/docs/package.json"), "NOT_FOUND");
  });
});

describe("rate limiting on /api/auth/*", () => {
  let limited: TestApi;
  beforeAll(async () => {
    limited = await startTestApi({ env: { AUTH_RATE_LIMIT_PER_MINUTE: "5" } });
  });
  afterAll(() => limited.close());

  it("answers 429 RATE_LIMITED with Retry-After past the limit, and leaves other routes alone", async () => {
    const results: HttpResult[] = [];
    for (let i = 0; i < 7; i++) {
      results.push(
        await limited.request("POST", "/api/auth/refresh", {
          body: { refreshToken: "x".repeat(43) },
        }),
      );
    }
    expect(results.slice(0, 5).map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    // IETF draft-7 headers on every answer, counting down.
    expect(results[0]!.headers["ratelimit-policy"]).toBe("5;w=60");
    expect(results[0]!.headers.ratelimit).toMatch(/^limit=5, remaining=4, reset=(59|60)$/);
    expect(results[4]!.headers.ratelimit).toMatch(/^limit=5, remaining=0, reset=\d+$/);
    const over = results[6]!;
    expect(over.status).toBe(429);
    expect(expectErrorBody(over, "RATE_LIMITED").error.retryable).toBe(true);
    expect(Number(over.headers["retry-after"])).toBeGreaterThan(0);
    expect((await limited.request("GET", "/api/health")).status).toBe(200);
  });
});

describe("TRUST_PROXY", () => {
  let proxied: TestApi;
  beforeAll(async () => {
    proxied = await startTestApi({ env: { AUTH_RATE_LIMIT_PER_MINUTE: "2", TRUST_PROXY: "1" } });
  });
  afterAll(() => proxied.close());

  it("behind one proxy hop, rate limits each client address of X-Forwarded-For separately", async () => {
    const attempt = (clientIp: string) =>
      proxied.request("POST", "/api/auth/refresh", {
        body: { refreshToken: "x".repeat(43) },
        headers: { "x-forwarded-for": clientIp },
      });
    for (let i = 0; i < 2; i++) expect((await attempt("203.0.113.7")).status).toBe(401);
    expectErrorBody(await attempt("203.0.113.7"), "RATE_LIMITED");
    expect((await attempt("198.51.100.9")).status).toBe(401);
  });
});
