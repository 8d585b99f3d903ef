/*
 * Every route of the contract under generated hostile input: bodies, headers and token strings.
 * Whatever comes in, nothing answers 5xx, every 4xx carries the contract's error body, and a
 * success answer has the route's success shape. Forged and mangled tokens are refused.
 */
import { contract, ErrorBodySchema, successOf, type RouteDefinition } from "@wxauth/contracts";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { z } from "zod";
import { startTestApi, type HttpResult, type TestApi } from "../testing/harness.js";
import {
  contentType,
  FUZZ_RUNS,
  FUZZ_TIMEOUT_MS,
  headerValue,
  rawBody,
  tokenString,
} from "../testing/arbitraries.js";

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });

let api: TestApi;
let real: { accessToken: string; refreshToken: string; userId: string };
beforeAll(async () => {
  api = await startTestApi();
  // Fuzzed refresh and logout calls may rotate or revoke `real.refreshToken`; the access token is
  // a JWT and stays valid for the other properties, which need a signed-in user to get past auth.
  const session = await api.register();
  real = {
    accessToken: session.accessToken,
    refreshToken: session.refreshToken,
    userId: session.user.id,
  };
});
afterAll(() => api.close());

/** A request as the generators build it (readonly tuples, absent headers). */
interface FuzzRequest {
  method: string;
  path: string;
  headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  body?: string | Buffer;
}

const routes = Object.entries(contract) as Array<[string, RouteDefinition]>;

function fieldNamesOf(route: RouteDefinition): string[] {
  const shape = (route.body as (z.ZodType & { shape?: Record<string, unknown> }) | undefined)
    ?.shape;
  return shape ? Object.keys(shape) : [];
}

/** The contract's promise for any request: no 5xx, the error body on 4xx, the success shape on success. */
function expectContractAnswer(
  route: RouteDefinition | undefined,
  request: FuzzRequest,
  result: HttpResult,
): void {
  const context = `${request.method} ${request.path} -> ${result.status} ${result.text.slice(0, 200)}`;
  expect(result.status, context).toBeLessThan(500);
  if (result.status >= 400) {
    expect(ErrorBodySchema.safeParse(result.body).success, context).toBe(true);
    expect(result.headers["content-type"], context).toMatch(/^application\/json/);
  }
  if (route) {
    const success = successOf(route);
    if (result.status === success.status && success.schema) {
      expect(success.schema.safeParse(result.body).success, context).toBe(true);
    }
  }
}

async function sendAndCheck(
  route: RouteDefinition | undefined,
  request: FuzzRequest,
): Promise<HttpResult> {
  const result = await api.raw({
    ...request,
    // Generated records leave headers out; arrays become duplicated header lines.
    headers: Object.fromEntries(
      Object.entries(request.headers ?? {}).flatMap(([name, value]) =>
        value === undefined ? [] : [[name, typeof value === "string" ? value : [...value]]],
      ),
    ),
  });
  expectContractAnswer(route, request, result);
  return result;
}

const bearer = () => ({ authorization: `Bearer ${real.accessToken}` });

describe.each(routes)("%s", (_name, route) => {
  const fieldNames = fieldNamesOf(route);

  it("arbitrary bodies and content types", async () => {
    await fc.assert(
      fc.asyncProperty(rawBody(fieldNames), contentType, async (body, type) => {
        await sendAndCheck(route, {
          method: route.method,
          path: route.path,
          headers: {
            ...(type === undefined ? {} : { "content-type": type }),
            ...(route.auth ? bearer() : {}),
          },
          body,
        });
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it("arbitrary, huge and duplicated headers", async () => {
    const headers = fc.record(
      {
        "content-type": fc.oneof(
          contentType.map((value) => value ?? "application/json"),
          fc
            .tuple(contentType, contentType)
            .map(([a, b]) => [a ?? "application/json", b ?? "text/plain"]),
        ),
        authorization: fc.oneof(
          headerValue(),
          tokenString(real).map((token) => `Bearer ${token}`),
          fc.constantFrom("Bearer", "Bearer ", "Basic dXNlcjpwYXNz", `bearer  ${"x".repeat(3)}`),
          fc.constant([`Bearer ${"a".repeat(20)}`, "Bearer b"]),
        ),
        // Large, but under Node's 16 kB header limit (past it, see the parser-level test below).
        "x-padding": fc.integer({ min: 1, max: 12_000 }).map((length) => "p".repeat(length)),
        "x-request-id": headerValue(300),
        accept: headerValue(50),
        "accept-encoding": fc.constantFrom(
          "gzip",
          "br",
          "identity;q=0",
          "*",
          "deflate, x-nonsense",
        ),
        "content-encoding": fc.constantFrom("gzip", "br", "identity", "x-unknown"),
        "transfer-encoding": fc.constant("chunked"),
        cookie: headerValue(),
        origin: fc.constantFrom("http://evil.example", "null", "http://localhost:5173"),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(headers, rawBody(fieldNames), async (sent, body) => {
        await sendAndCheck(route, { method: route.method, path: route.path, headers: sent, body });
      }),
      { numRuns: FUZZ_RUNS },
    );
  });

  it("token strings: nothing but the real token gets in", async () => {
    await fc.assert(
      fc.asyncProperty(
        tokenString(real),
        fc.constantFrom("Bearer ", "bearer ", "Bearer  "),
        async (token, scheme) => {
          const isReal = token === real.accessToken || token === real.refreshToken;
          if (route.auth) {
            const result = await sendAndCheck(route, {
              method: route.method,
              path: route.path,
              headers: { authorization: `${scheme}${token}`, "content-type": "application/json" },
              body: route.method === "GET" ? undefined : "{}",
            });
            if (!isReal) expect(result.status, token).toBe(401);
            return;
          }
          // Routes without auth take the token string wherever a credential goes in their body.
          const body = Object.fromEntries(fieldNames.map((name) => [name, token]));
          const result = await sendAndCheck(route, {
            method: route.method,
            path: route.path,
            headers: { "content-type": "application/json", authorization: `${scheme}${token}` },
            body: route.body ? JSON.stringify(body) : undefined,
          });
          if (!isReal && (route === contract.refreshSession || route === contract.wechatRegister)) {
            expect([400, 401], token).toContain(result.status);
          }
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
  });
});

describe("paths and methods outside the contract", () => {
  it("answer 404 NOT_FOUND (or 400 for an unreadable path) with the error body", async () => {
    const method = fc.constantFrom("GET", "POST", "PATCH", "PUT", "DELETE", "TRACE", "PROPFIND");
    const path = fc.oneof(
      fc.webPath().map((p) => `/api${p.startsWith("/") ? p : `/${p}`}`),
      fc.webPath().map((p) => (p.startsWith("/") ? p : `/${p}`)),
      fc.constantFrom(
        "/api/%",
        "/api/%E0%A4%A",
        "/api/auth/%00",
        "/api/me/..%2f..%2fetc%2fpasswd",
        "/api//me",
        "/api/me/",
        "/API/ME",
        "/api/auth/wechat/login?code=x",
        "/__proto__",
        "/api/constructor",
        `/api/${"a".repeat(4000)}`,
      ),
    );
    await fc.assert(
      fc.asyncProperty(method, path, async (m, p) => {
        const known = routes.find(([, route]) => route.method === m && route.path === p)?.[1];
        await sendAndCheck(known, {
          method: m,
          path: p,
          headers: { "content-type": "application/json" },
          body: "{}",
        });
      }),
      { numRuns: FUZZ_RUNS },
    );
  });
});

/**
 * A lone surrogate ("\ud800") is valid JSON but not a well-formed string: it cannot be encoded as
 * UTF-8 (for a URL, a database column). Every string field must refuse it with 400, not fail 500.
 * The fuzzer found the first two (a URIError in packages/wechat, a string SQLite refused); the
 * JSON body parser now refuses such strings for every route (http/json-body.ts).
 */
describe("ill-formed UTF-16 (a lone surrogate) in a string field", () => {
  const loneSurrogate = '"\\ud800"';
  const cases: Array<[string, string, string]> = [
    ["wechatLogin", "code", ""],
    ["updateMe", "nickname", ""],
    ["updateMe", "avatarUrl", ""],
    ["wechatRegister", "registrationTicket", ',"phoneCode":"x"'],
    ["wechatRegister", "phoneCode", `,"registrationTicket":"${"t".repeat(43)}"`],
    ["refreshSession", "refreshToken", ""],
    ["logout", "refreshToken", ""],
    ["bindPhone", "phoneCode", ""],
  ];
  for (const [name, field, rest] of cases) {
    const route = (contract as Record<string, RouteDefinition>)[name];
    it(`${name}.${field} answers 4xx with the error body`, async () => {
      if (!route) throw new Error(`no route ${name}`);
      const result = await sendAndCheck(route, {
        method: route.method,
        path: route.path,
        headers: { "content-type": "application/json", ...(route.auth ? bearer() : {}) },
        body: `{"${field}":${loneSurrogate}${rest}}`,
      });
      expect(result.status).toBeGreaterThanOrEqual(400);
    });
  }
});

// Errors Node's HTTP parser raises before Express sees the request (headers over its 16 kB limit, a
// malformed request line) get the contract's error body (http/parser-errors.ts), where Node's
// default answer is a bare "431" or "400" with no body.
describe("requests Node's HTTP parser refuses", () => {
  it("headers over the 16 kB limit get the error body", async () => {
    const result = await api.raw({
      method: "GET",
      path: "/api/health",
      headers: { "x-padding": "p".repeat(20_000) },
    });
    expect(result.status).toBeGreaterThanOrEqual(400);
    expect(result.status).toBeLessThan(500);
    expect(ErrorBodySchema.safeParse(result.body).success).toBe(true);
  });
});
