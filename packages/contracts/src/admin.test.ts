import { describe, expect, it } from "vitest";
import {
  AdminUserDetailSchema,
  AdminUserPageSchema,
  AuditPageSchema,
  BanUserRequestSchema,
  ChangeOperatorPasswordRequestSchema,
  OperatorSessionSchema,
  OperatorSignInRequestSchema,
  SpendQuerySchema,
  SpendSchema,
  ADMIN_ERROR_CODES,
  AdminErrorBodySchema,
  adminContract,
  adminErrorCatalog,
  type AdminErrorCode,
  type AdminRouteDefinition,
} from "./admin.js";
import { ERROR_CODES, ErrorBodySchema, errorCatalog, operatorErrorCatalog } from "./errors.js";
import { contract, successOf, type RouteDefinition } from "./routes.js";
import { generateOpenApiDocument, openApiPathOf } from "./openapi.js";
import { maskPhone } from "./phone.js";

const adminRoutes = Object.entries(adminContract) as [string, AdminRouteDefinition][];

/** `auth roles csrf METHOD path status`, one line per route: the table the API implements. */
function shapeOf(route: AdminRouteDefinition): string {
  const guard =
    route.auth === "operator"
      ? `operator ${route.roles.join("+")}${route.csrf ? " csrf" : ""}${route.beforePasswordChange ? " before-password-change" : ""}`
      : "public";
  return `${guard} ${route.method} ${route.path} ${successOf(route).status}`;
}

describe("admin route table", () => {
  it("has exactly the routes of the console, each guarded as the issue says", () => {
    expect(Object.fromEntries(adminRoutes.map(([name, route]) => [name, shapeOf(route)]))).toEqual({
      signInOperator: "public POST /api/admin/session 200",
      getOperatorSession: "operator viewer+admin before-password-change GET /api/admin/session 200",
      signOutOperator:
        "operator viewer+admin csrf before-password-change DELETE /api/admin/session 204",
      changeOperatorPassword:
        "operator viewer+admin csrf before-password-change POST /api/admin/password 200",
      searchUsers: "operator viewer+admin GET /api/admin/users 200",
      getUser: "operator viewer+admin GET /api/admin/users/:userId 200",
      revealUserPhone: "operator admin csrf POST /api/admin/users/:userId/phone/reveal 200",
      banUser: "operator admin csrf POST /api/admin/users/:userId/ban 200",
      unbanUser: "operator admin csrf DELETE /api/admin/users/:userId/ban 204",
      revokeUserSession:
        "operator admin csrf DELETE /api/admin/users/:userId/sessions/:sessionId 204",
      revokeAllUserSessions: "operator admin csrf DELETE /api/admin/users/:userId/sessions 204",
      listScheduledDeletions: "operator viewer+admin GET /api/admin/deletions 200",
      getSpend: "operator viewer+admin GET /api/admin/spend 200",
      listAuditEntries: "operator admin GET /api/admin/audit 200",
    });
  });

  it("asks for the CSRF token on every route that changes something, and on no read", () => {
    for (const [name, route] of adminRoutes) {
      const changes = route.method !== "GET";
      // Signing in has no session, and so no token, yet.
      expect(route.csrf, name).toBe(changes && name !== "signInOperator");
    }
  });

  it("lists the guard's errors on the routes it guards", () => {
    for (const [name, route] of adminRoutes) {
      const errors: readonly AdminErrorCode[] = route.errors;
      if (route.auth === "operator") expect(errors, name).toContain("OPERATOR_UNAUTHENTICATED");
      if (route.csrf) expect(errors, name).toContain("CSRF_TOKEN_INVALID");
      if (route.auth === "operator" && !route.beforePasswordChange) {
        expect(errors, name).toEqual(
          expect.arrayContaining(["PASSWORD_CHANGE_REQUIRED", "OPERATOR_FORBIDDEN"]),
        );
      }
      expect(errors, name).not.toContain("UNAUTHORIZED");
    }
    expect(adminContract.signInOperator.errors).toEqual(
      expect.arrayContaining(["OPERATOR_SIGNIN_FAILED", "RATE_LIMITED"]),
    );
  });

  it("shares no path and method with the end-user routes", () => {
    const endUser = new Set(
      (Object.values(contract) as RouteDefinition[]).map((r) => `${r.method} ${r.path}`),
    );
    for (const [name, route] of adminRoutes) {
      expect(route.path, name).toMatch(/^\/api\/admin\//);
      expect(endUser.has(`${route.method} ${route.path}`), name).toBe(false);
    }
  });
});

describe("operator error codes", () => {
  it("answers with the statuses the console relies on, each with both messages", () => {
    const statuses = Object.fromEntries(
      Object.entries(operatorErrorCatalog).map(([code, entry]) => [code, entry.status]),
    );
    expect(statuses).toEqual({
      OPERATOR_UNAUTHENTICATED: 401,
      OPERATOR_SIGNIN_FAILED: 401,
      // Not 401: a wrong current password must not read as a lost session and sign out.
      OPERATOR_PASSWORD_INCORRECT: 403,
      PASSWORD_CHANGE_REQUIRED: 403,
      OPERATOR_FORBIDDEN: 403,
      CSRF_TOKEN_INVALID: 403,
    });
    for (const [code, entry] of Object.entries(operatorErrorCatalog)) {
      expect(entry.retryable, code).toBe(false);
      expect(entry.message.zh, code).toMatch(/\p{Script=Han}/u);
      expect(entry.message.en.length, code).toBeGreaterThan(3);
    }
    expect(errorCatalog.ACCOUNT_DISABLED).toMatchObject({ status: 403, retryable: false });
  });

  it("keeps them out of the catalogue the mini program bundles, and in the admin error body", () => {
    for (const code of Object.keys(operatorErrorCatalog)) {
      expect(ERROR_CODES as string[], code).not.toContain(code);
      expect(ADMIN_ERROR_CODES, code).toContain(code);
    }
    expect(ADMIN_ERROR_CODES).toEqual(expect.arrayContaining(ERROR_CODES));
    const body = {
      error: { code: "CSRF_TOKEN_INVALID", message: "m", retryable: false, requestId: "r" },
    };
    expect(AdminErrorBodySchema.parse(body)).toEqual(body);
    expect(ErrorBodySchema.safeParse(body).success).toBe(false);
    expect(adminErrorCatalog.RATE_LIMITED).toBe(errorCatalog.RATE_LIMITED);
  });
});

describe("admin schemas", () => {
  const at = "2026-12-07T10:00:00.000Z";

  it("signs in with a name and password and answers the operator, CSRF token and first-password flag", () => {
    expect(OperatorSignInRequestSchema.parse({ name: "alice", password: "x" })).toEqual({
      name: "alice",
      password: "x",
    });
    expect(OperatorSignInRequestSchema.safeParse({ name: "", password: "x" }).success).toBe(false);
    expect(
      OperatorSignInRequestSchema.safeParse({ name: "a", password: "x", role: "admin" }).success,
    ).toBe(false);
    const session = {
      operator: { name: "alice", role: "admin" },
      csrfToken: "c".repeat(43),
      passwordChangeRequired: true,
    };
    expect(OperatorSessionSchema.parse(session)).toEqual(session);
    expect(
      OperatorSessionSchema.safeParse({ ...session, operator: { name: "a", role: "root" } })
        .success,
    ).toBe(false);
  });

  it("takes a new password of 15 characters or more that differs from the current one", () => {
    const ok = { currentPassword: "one-time-password", newPassword: "correct horse battery" };
    expect(ChangeOperatorPasswordRequestSchema.parse(ok)).toEqual(ok);
    for (const body of [
      { ...ok, newPassword: "x".repeat(14) },
      { ...ok, newPassword: ok.currentPassword },
      { newPassword: ok.newPassword },
    ]) {
      expect(ChangeOperatorPasswordRequestSchema.safeParse(body).success, body.newPassword).toBe(
        false,
      );
    }
  });

  it("lists users with masked phones only, their apps and status, and a cursor", () => {
    const item = {
      id: "u1",
      phone: maskPhone("+8613800138000"),
      nickname: null,
      apps: [{ appid: "wx1", name: "shop" }],
      createdAt: at,
      lastSignInAt: null,
      status: "active",
    };
    expect(AdminUserPageSchema.parse({ users: [item], nextCursor: "n" }).users[0]?.phone).toBe(
      "138****8000",
    );
    expect(
      AdminUserPageSchema.safeParse({
        users: [{ ...item, phone: "+8613800138000" }],
        nextCursor: null,
      }).success,
    ).toBe(false);
    expect(
      AdminUserPageSchema.safeParse({ users: [{ ...item, status: "deleted" }], nextCursor: null })
        .success,
    ).toBe(false);
  });

  it("describes a user with identities (openid included), sessions, events, deletion and ban", () => {
    const detail = {
      user: {
        id: "u1",
        phone: "138****8000",
        nickname: "n",
        avatarUrl: null,
        unionid: "union-1",
        createdAt: at,
        lastSignInAt: at,
        status: "banned",
      },
      identities: [{ appid: "wx1", name: "shop", openid: "o-1", createdAt: at }],
      sessions: [
        {
          id: "s1",
          app: { appid: "wx1", name: "shop" },
          device: { model: "iPhone 15" },
          createdAt: at,
          lastUsedAt: at,
        },
      ],
      events: [
        {
          id: "e1",
          type: "login",
          at,
          appid: "wx1",
          details: { sessionId: "s1", linked: false, count: 1, none: null },
        },
      ],
      deletion: { scheduledAt: at },
      ban: { reason: "spam", until: null, bannedAt: at, by: "alice" },
    };
    expect(AdminUserDetailSchema.parse(detail)).toEqual(detail);
    expect(AdminUserDetailSchema.safeParse({ ...detail, ban: undefined }).success).toBe(false);
    expect(AdminUserDetailSchema.parse({ ...detail, deletion: null, ban: null }).ban).toBeNull();
  });

  it("bans with a reason of 1 to 500 characters and an optional until", () => {
    expect(BanUserRequestSchema.parse({ reason: "  spam  " })).toEqual({ reason: "spam" });
    expect(BanUserRequestSchema.parse({ reason: "spam", until: at })).toEqual({
      reason: "spam",
      until: at,
    });
    for (const body of [
      { reason: "   " },
      { reason: "x".repeat(501) },
      { reason: "spam", until: "tomorrow" },
      { reason: "spam", forever: true },
    ]) {
      expect(BanUserRequestSchema.safeParse(body).success, JSON.stringify(body)).toBe(false);
    }
  });

  it("reads spend's days from the query string, 30 by default, 1 to 90", () => {
    expect(SpendQuerySchema.parse({})).toEqual({ days: 30 });
    expect(SpendQuerySchema.parse({ days: "7" })).toEqual({ days: 7 });
    for (const days of ["0", "91", "1.5", "x", ""]) {
      expect(SpendQuerySchema.safeParse({ days }).success, days).toBe(false);
    }
    const spend = {
      days: [{ date: "2026-12-07", phoneLookups: 3, smsSent: 1 }],
      prices: { phoneLookupCny: 0.03, smsCny: 0.045 },
    };
    expect(SpendSchema.parse(spend)).toEqual(spend);
    expect(
      SpendSchema.safeParse({
        ...spend,
        days: [{ date: "2026-12-07T00:00:00Z", phoneLookups: 3, smsSent: 1 }],
      }).success,
    ).toBe(false);
  });

  it("names each audited action from a closed set", () => {
    const entry = {
      id: "a1",
      operator: "alice",
      action: "user_banned",
      target: "user:u1",
      at,
      address: "127.0.0.1",
      details: { reason: "spam" },
    };
    expect(AuditPageSchema.parse({ entries: [entry], nextCursor: null }).entries).toHaveLength(1);
    expect(
      AuditPageSchema.safeParse({
        entries: [{ ...entry, action: "dropped_tables" }],
        nextCursor: null,
      }).success,
    ).toBe(false);
  });
});

describe("admin routes in the OpenAPI document", () => {
  interface Operation {
    operationId: string;
    security: Array<Record<string, string[]>>;
    parameters?: Array<{ name: string; in: string; required: boolean; schema: unknown }>;
    "x-operator-roles"?: string[];
  }
  const doc = generateOpenApiDocument() as {
    paths: Record<string, Record<string, Operation>>;
    components: { securitySchemes: Record<string, Record<string, string>> };
  };
  const operation = (route: RouteDefinition<string>) =>
    doc.paths[openApiPathOf(route.path)]?.[route.method.toLowerCase()];

  it("lists every admin route with the operator cookie, the CSRF header where needed, and the roles", () => {
    for (const [name, route] of adminRoutes) {
      const op = operation(route);
      expect(op?.operationId).toBe(name);
      const security =
        route.auth === "operator"
          ? [{ operatorSession: [], ...(route.csrf ? { csrfToken: [] } : {}) }]
          : [];
      expect(op?.security, name).toEqual(security);
      expect(op?.["x-operator-roles"], name).toEqual(route.roles);
    }
    expect(doc.components.securitySchemes.operatorSession).toEqual({
      type: "apiKey",
      in: "cookie",
      name: "wxauth_operator",
    });
    expect(doc.components.securitySchemes.csrfToken).toMatchObject({
      type: "apiKey",
      in: "header",
      name: "X-CSRF-Token",
    });
  });

  it("declares the query parameters of the search, spend and audit", () => {
    expect(operation(adminContract.searchUsers)?.parameters).toEqual([
      { name: "query", in: "query", required: false, schema: { type: "string", maxLength: 128 } },
      {
        name: "cursor",
        in: "query",
        required: false,
        schema: { type: "string", minLength: 1, maxLength: 512 },
      },
    ]);
    expect(operation(adminContract.getSpend)?.parameters).toEqual([
      {
        name: "days",
        in: "query",
        required: false,
        schema: { type: "integer", minimum: 1, maximum: 90, default: 30 },
      },
    ]);
    expect(operation(adminContract.revokeUserSession)?.parameters?.map((p) => p.name)).toEqual([
      "userId",
      "sessionId",
    ]);
  });
});
