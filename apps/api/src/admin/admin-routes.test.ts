/*
 * Every route of the admin contract, against every kind of caller: no cookie, an end user's
 * access token, a viewer, an admin, an operator who has not yet replaced the one-time password,
 * and an admin without the CSRF header. The table comes from the contract itself, so a route
 * added there is tested here without a line more.
 */
import { ErrorBodySchema, successOf } from "@wxauth/contracts";
import {
  AdminErrorBodySchema,
  adminContract,
  type AdminErrorCode,
  type AdminRouteDefinition,
  type AdminRouteName,
} from "@wxauth/contracts/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  TEST_SCRYPT_COST,
  startTestApi,
  type HttpResult,
  type TestApi,
} from "../testing/harness.js";
import { signedInOperator, type TestOperator } from "../testing/operators.js";

let api: TestApi;
let viewer: TestOperator;
let admin: TestOperator;
let firstPassword: TestOperator;
let endUserToken: string;

beforeAll(async () => {
  api = await startTestApi({
    overrides: {
      operators: {
        scryptCost: TEST_SCRYPT_COST,
        signInLimits: { perName: 1000, perAddress: 1000, windowMs: 60_000 },
      },
    },
  });
  [viewer, admin, firstPassword] = await Promise.all([
    signedInOperator(api, "viewer"),
    signedInOperator(api, "admin"),
    signedInOperator(api, "admin", { changePassword: false }),
  ]);
  endUserToken = (await api.register()).accessToken;
});
afterAll(() => api.close());

const routes = Object.entries(adminContract) as [AdminRouteName, AdminRouteDefinition][];
const guarded = routes.filter(([, route]) => route.auth === "operator");

/**
 * A request that succeeds for an admin: a fresh user with a session to act on, and for the routes
 * that end the caller's own session or password, the operator given (a fresh one).
 */
async function requestOf(
  name: AdminRouteName,
  operator: TestOperator,
): Promise<{ method: string; path: string; body?: unknown }> {
  const route = adminContract[name];
  const registered = await api.register();
  const sessions = await api.deps.data.sessions.listActive(
    registered.user.id,
    new Date(api.clock.now()),
  );
  const path = route.path
    .replace(":userId", registered.user.id)
    .replace(":sessionId", sessions[0]!.id);
  const bodies: Partial<Record<AdminRouteName, unknown>> = {
    signInOperator: { name: operator.name, password: operator.password },
    changeOperatorPassword: {
      currentPassword: operator.password,
      newPassword: `${operator.password}-again`,
    },
    banUser: { reason: "spam" },
  };
  return { method: route.method, path, body: bodies[name] };
}

function expectCode(result: HttpResult, code: AdminErrorCode) {
  const body = AdminErrorBodySchema.parse(result.body);
  expect(body.error.code, result.text).toBe(code);
}

describe.each(guarded)("%s", (name, route) => {
  it("answers 401 OPERATOR_UNAUTHENTICATED without a cookie", async () => {
    const { method, path, body } = await requestOf(name, admin);
    const result = await api.request(method, path, { body });
    expect(result.status).toBe(401);
    expectCode(result, "OPERATOR_UNAUTHENTICATED");
  });

  it("answers 401 OPERATOR_UNAUTHENTICATED to an end user's access token", async () => {
    const { method, path, body } = await requestOf(name, admin);
    const result = await api.request(method, path, { body, token: endUserToken });
    expect(result.status).toBe(401);
    expectCode(result, "OPERATOR_UNAUTHENTICATED");
  });

  it(`lets a viewer in ${route.roles.includes("viewer") ? "" : "never (403 OPERATOR_FORBIDDEN)"}`, async () => {
    // The routes that end the caller's own session or password get a viewer of their own.
    const caller = route.beforePasswordChange ? await signedInOperator(api, "viewer") : viewer;
    const { method, path, body } = await requestOf(name, caller);
    const result = await caller.request(method, path, { body });
    if (route.roles.includes("viewer")) {
      expect(result.status, result.text).toBe(successOf(route).status);
    } else {
      expect(result.status).toBe(403);
      expectCode(result, "OPERATOR_FORBIDDEN");
    }
  });

  it("lets an admin in, answering the contract's success", async () => {
    const caller = route.beforePasswordChange ? await signedInOperator(api, "admin") : admin;
    const { method, path, body } = await requestOf(name, caller);
    const result = await caller.request(method, path, { body });
    const success = successOf(route);
    expect(result.status, result.text).toBe(success.status);
    if (success.schema)
      expect(success.schema.safeParse(result.body).success, result.text).toBe(true);
  });

  it(
    route.beforePasswordChange
      ? "answers before the one-time password is changed"
      : "answers 403 PASSWORD_CHANGE_REQUIRED until the one-time password is changed",
    async () => {
      // A route that would change the password or sign out is only called by its own test above.
      if (route.beforePasswordChange && route.method !== "GET") return;
      const { method, path, body } = await requestOf(name, firstPassword);
      const result = await firstPassword.request(method, path, { body });
      if (route.beforePasswordChange) {
        expect(result.status, result.text).toBe(200);
      } else {
        expect(result.status).toBe(403);
        expectCode(result, "PASSWORD_CHANGE_REQUIRED");
      }
    },
  );

  if (route.csrf) {
    it("answers 403 CSRF_TOKEN_INVALID without X-CSRF-Token, or with another session's", async () => {
      const { method, path, body } = await requestOf(name, admin);
      const without = await admin.request(method, path, { body, csrf: false });
      expect(without.status).toBe(403);
      expectCode(without, "CSRF_TOKEN_INVALID");
      const other = await admin.request(method, path, {
        body,
        csrf: false,
        headers: { "x-csrf-token": viewer.session.csrfToken },
      });
      expect(other.status).toBe(403);
      expectCode(other, "CSRF_TOKEN_INVALID");
    });
  }
});

describe("the two audiences stay apart", () => {
  it("never takes an operator cookie on an end-user route", async () => {
    const result = await api.request("GET", "/api/me", { headers: { cookie: admin.cookie } });
    expect(result.status).toBe(401);
    expect(ErrorBodySchema.parse(result.body).error.code).toBe("UNAUTHORIZED");
  });

  it("signs in with no cookie and no CSRF token, answering the operator and a CSRF token", async () => {
    const { method, path, body } = await requestOf("signInOperator", admin);
    const result = await api.request(method, path, { body });
    expect(result.status, result.text).toBe(200);
    expect(result.headers["cache-control"]).toBe("no-store");
  });
});
