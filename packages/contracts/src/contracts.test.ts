import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  BindPhoneRequestSchema,
  ERROR_CODES,
  ErrorBodySchema,
  SendRegistrationSmsRequestSchema,
  SessionListSchema,
  UpdateMeRequestSchema,
  UserSchema,
  WechatLoginRequestSchema,
  WechatIdentitySchema,
  MeSchema,
  WechatLoginResponseSchema,
  WechatRegisterRequestSchema,
  contract,
  errorCatalog,
  errorCodeForWechatErrcode,
  maskPhone,
  successOf,
  type RouteDefinition,
} from "./index.js";
import { generateOpenApiDocument, openApiPathOf } from "./openapi.js";

describe("error catalog", () => {
  it("gives every code an HTTP error status and both messages", () => {
    for (const code of ERROR_CODES) {
      const entry = errorCatalog[code];
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.status, code).toBeLessThan(600);
      expect(entry.message.zh, code).toMatch(/\p{Script=Han}/u);
      expect(entry.message.en.length, code).toBeGreaterThan(3);
    }
  });

  it("answers with the statuses the API promises", () => {
    const statuses = Object.fromEntries(
      ERROR_CODES.map((code) => [code, errorCatalog[code].status]),
    );
    expect(statuses).toEqual({
      VALIDATION_FAILED: 400,
      UNAUTHORIZED: 401,
      WECHAT_APP_UNKNOWN: 400,
      WECHAT_CODE_INVALID: 401,
      WECHAT_CODE_USED: 401,
      WECHAT_USER_BLOCKED: 403,
      WECHAT_RATE_LIMITED: 429,
      WECHAT_UNAVAILABLE: 503,
      REGISTRATION_TICKET_INVALID: 401,
      PHONE_ALREADY_BOUND: 409,
      SMS_CODE_INVALID: 401,
      SMS_RATE_LIMITED: 429,
      SMS_UNAVAILABLE: 503,
      REFRESH_TOKEN_INVALID: 401,
      REFRESH_TOKEN_REUSED: 401,
      RATE_LIMITED: 429,
      CONTENT_REJECTED: 422,
      NOT_FOUND: 404,
      PAYLOAD_TOO_LARGE: 413,
      REQUEST_HEADER_TOO_LARGE: 431,
      SERVICE_UNAVAILABLE: 503,
      INTERNAL: 500,
      ACCOUNT_DISABLED: 403,
    });
  });

  it("maps WeChat errcodes onto contract codes", () => {
    expect(errorCodeForWechatErrcode(40029)).toBe("WECHAT_CODE_INVALID");
    expect(errorCodeForWechatErrcode(40163)).toBe("WECHAT_CODE_USED");
    expect(errorCodeForWechatErrcode(40226)).toBe("WECHAT_USER_BLOCKED");
    expect(errorCodeForWechatErrcode(45011)).toBe("WECHAT_RATE_LIMITED");
    expect(errorCodeForWechatErrcode(87014)).toBe("CONTENT_REJECTED");
    for (const errcode of [-1, 40013, 40125, 40164, 45009]) {
      expect(errorCodeForWechatErrcode(errcode)).toBe("WECHAT_UNAVAILABLE");
    }
    expect(errorCodeForWechatErrcode(12345)).toBeUndefined();
  });

  it("rejects error bodies with codes outside the closed set", () => {
    const body = { error: { code: "NOT_A_CODE", message: "x", retryable: false, requestId: "r" } };
    expect(ErrorBodySchema.safeParse(body).success).toBe(false);
  });
});

describe("schemas", () => {
  const user = {
    id: "u1",
    phone: "+8613800138000",
    nickname: null,
    avatarUrl: null,
    createdAt: "2026-11-20T10:00:00.000Z",
    deletionScheduledAt: null,
  };

  it("accepts E.164 phones and rejects anything else", () => {
    expect(UserSchema.parse(user).phone).toBe("+8613800138000");
    expect(UserSchema.parse({ ...user, phone: "+85251234567" }).phone).toBe("+85251234567");
    for (const phone of ["13800138000", "+0123456789", "+86 138 0013 8000", "+86138001380001234"]) {
      expect(UserSchema.safeParse({ ...user, phone }).success, phone).toBe(false);
    }
  });

  it("tells the two login outcomes apart by status", () => {
    const ticket = WechatLoginResponseSchema.parse({
      status: "registration_required",
      registrationTicket: "t".repeat(43),
      expiresIn: 600,
    });
    expect(ticket.status).toBe("registration_required");
    const missingUser = {
      status: "authenticated",
      accessToken: "a",
      refreshToken: "r",
      expiresIn: 900,
    };
    expect(WechatLoginResponseSchema.safeParse(missingUser).success).toBe(false);
  });

  it("verifies a phone one of two ways, a getPhoneNumber code or a phone and its SMS code", () => {
    const registrationTicket = "t".repeat(43);
    const byButton = { registrationTicket, phoneCode: "phone-code" };
    const bySms = { registrationTicket, phone: "13800138000", smsCode: "123456" };
    expect(WechatRegisterRequestSchema.parse(byButton)).toEqual(byButton);
    expect(WechatRegisterRequestSchema.parse(bySms)).toEqual(bySms);
    expect(BindPhoneRequestSchema.parse({ phone: "+85251234567", smsCode: "000000" })).toEqual({
      phone: "+85251234567",
      smsCode: "000000",
    });
    for (const body of [
      { ...byButton, ...bySms },
      { registrationTicket, phone: "13800138000" },
      { registrationTicket, phone: "13800138000", smsCode: "12345" },
      { registrationTicket, phone: "12800138000", smsCode: "123456" },
      { registrationTicket, smsCode: "123456" },
    ]) {
      expect(WechatRegisterRequestSchema.safeParse(body).success, JSON.stringify(body)).toBe(false);
    }
    expect(BindPhoneRequestSchema.safeParse({ phoneCode: "c", smsCode: "123456" }).success).toBe(
      false,
    );
    expect(
      SendRegistrationSmsRequestSchema.safeParse({ registrationTicket, phone: "+86 138" }).success,
    ).toBe(false);
  });

  it("tells whether and when the account is scheduled for deletion", () => {
    const scheduled = { ...user, deletionScheduledAt: "2026-11-27T10:00:00.000Z" };
    expect(UserSchema.parse(scheduled).deletionScheduledAt).toBe("2026-11-27T10:00:00.000Z");
    const { deletionScheduledAt: _omitted, ...withoutIt } = user;
    expect(UserSchema.safeParse(withoutIt).success).toBe(false);
  });

  it("takes an optional device of at most 64 characters a field on login and register", () => {
    const device = { platform: "ios", model: "iPhone 15", system: "iOS 17.0" };
    expect(WechatLoginRequestSchema.parse({ code: "c" })).toEqual({ code: "c" });
    expect(WechatLoginRequestSchema.parse({ code: "c", device })).toEqual({ code: "c", device });
    expect(WechatLoginRequestSchema.parse({ code: "c", device: {} })).toEqual({
      code: "c",
      device: {},
    });
    const register = { registrationTicket: "t".repeat(43), phoneCode: "p" };
    expect(WechatRegisterRequestSchema.parse({ ...register, device }).device).toEqual(device);
    for (const field of ["platform", "model", "system"]) {
      const tooLong = { ...device, [field]: "x".repeat(65) };
      expect(WechatLoginRequestSchema.safeParse({ code: "c", device: tooLong }).success).toBe(
        false,
      );
      const longest = { ...device, [field]: "x".repeat(64) };
      expect(WechatRegisterRequestSchema.safeParse({ ...register, device: longest }).success).toBe(
        true,
      );
    }
    expect(WechatLoginRequestSchema.safeParse({ code: "c", device: { model: 15 } }).success).toBe(
      false,
    );
  });

  it("lists sessions with their device, their app and which one is current", () => {
    const list = SessionListSchema.parse({
      sessions: [
        {
          id: "s1",
          createdAt: "2026-11-20T10:00:00.000Z",
          lastUsedAt: "2026-11-21T10:00:00.000Z",
          device: { model: "iPhone 15" },
          app: { appid: "wx1", name: "shop" },
          current: true,
        },
      ],
    });
    expect(list.sessions[0]?.current).toBe(true);
    expect(list.sessions[0]?.app).toEqual({ appid: "wx1", name: "shop" });
    expect(
      SessionListSchema.safeParse({ sessions: [{ id: "s1", current: true, device: {} }] }).success,
    ).toBe(false);
  });

  it("takes the appid a login comes from, optional; lists a user's apps without openids", () => {
    expect(WechatLoginRequestSchema.parse({ code: "c", appid: " wx1 " })).toEqual({
      code: "c",
      appid: "wx1",
    });
    expect(WechatLoginRequestSchema.safeParse({ code: "c", appid: "" }).success).toBe(false);
    const me = MeSchema.parse({
      id: "u1",
      phone: null,
      nickname: null,
      avatarUrl: null,
      createdAt: "2026-11-20T10:00:00.000Z",
      deletionScheduledAt: null,
      deletionCoolingOff: 0,
      identities: [{ appid: "wx1", name: "shop", createdAt: "2026-11-20T10:00:00.000Z" }],
      avatarRemovedAt: null,
    });
    expect(me.identities).toEqual([
      { appid: "wx1", name: "shop", createdAt: "2026-11-20T10:00:00.000Z" },
    ]);
    expect(Object.keys(WechatIdentitySchema.shape).sort()).toEqual(["appid", "createdAt", "name"]);
  });

  it("validates profile updates strictly", () => {
    expect(UpdateMeRequestSchema.parse({ nickname: "  微信用户  " })).toEqual({
      nickname: "微信用户",
    });
    expect(UpdateMeRequestSchema.safeParse({}).success).toBe(false);
    expect(UpdateMeRequestSchema.safeParse({ nickname: "a\u0000b" }).success).toBe(false);
    expect(UpdateMeRequestSchema.safeParse({ nickname: "x".repeat(33) }).success).toBe(false);
    expect(UpdateMeRequestSchema.safeParse({ avatarUrl: "javascript:alert(1)" }).success).toBe(
      false,
    );
    expect(UpdateMeRequestSchema.safeParse({ nickname: "ok", isAdmin: true }).success).toBe(false);
  });
});

describe("route table", () => {
  it("puts every route under /api with one success response", () => {
    for (const [name, route] of Object.entries(contract)) {
      expect(route.path, name).toMatch(/^\/api\//);
      expect(() => successOf(route), name).not.toThrow();
    }
    expect(successOf(contract.wechatRegister).status).toBe(201);
    expect(successOf(contract.logout)).toEqual({ status: 204, schema: null });
  });

  it("gives a route a JSON body or a file upload, never both", () => {
    for (const [name, route] of Object.entries(contract) as [string, RouteDefinition][]) {
      expect(route.body !== undefined && route.upload !== undefined, name).toBe(false);
    }
  });

  it("lists the SMS routes with the errors they answer", () => {
    const sendForRegistration: RouteDefinition = contract.sendRegistrationSms;
    expect(sendForRegistration).toMatchObject({
      method: "POST",
      path: "/api/auth/sms/send",
      auth: false,
    });
    const sendForChange: RouteDefinition = contract.sendPhoneChangeSms;
    expect(sendForChange).toMatchObject({ method: "POST", path: "/api/me/phone/sms", auth: true });
    for (const route of [sendForRegistration, sendForChange]) {
      expect(route.errors).toEqual(expect.arrayContaining(["SMS_RATE_LIMITED", "SMS_UNAVAILABLE"]));
      expect(successOf(route).status).toBe(200);
    }
    expect(sendForRegistration.errors).toContain("REGISTRATION_TICKET_INVALID");
    for (const route of [contract.wechatRegister, contract.bindPhone] as RouteDefinition[]) {
      expect(route.errors).toEqual(expect.arrayContaining(["SMS_CODE_INVALID", "SMS_UNAVAILABLE"]));
    }
  });

  it("lets users see and revoke their sessions and delete their account", () => {
    const routes: Record<string, RouteDefinition> = contract;
    const shapes = Object.fromEntries(
      [
        "listSessions",
        "revokeSession",
        "revokeAllSessions",
        "requestDeletion",
        "cancelDeletion",
      ].map((name) => {
        const route = routes[name]!;
        return [
          name,
          `${route.auth ? "auth " : ""}${route.method} ${route.path} ${successOf(route).status}`,
        ];
      }),
    );
    expect(shapes).toEqual({
      listSessions: "auth GET /api/me/sessions 200",
      revokeSession: "auth DELETE /api/me/sessions/:sessionId 204",
      revokeAllSessions: "auth DELETE /api/me/sessions 204",
      requestDeletion: "auth POST /api/me/deletion 202",
      cancelDeletion: "auth DELETE /api/me/deletion 200",
    });
    expect(successOf(contract.cancelDeletion).schema).toBe(UserSchema);
  });

  it("describes the avatar upload as wx.uploadFile sends it, and the avatar as a file", () => {
    const upload: RouteDefinition = contract.uploadAvatar;
    expect(upload).toMatchObject({ method: "POST", path: "/api/me/avatar", auth: true });
    expect(upload.upload).toEqual({
      contentType: "multipart/form-data",
      field: "file",
      mediaTypes: ["image/jpeg", "image/png", "image/webp"],
      maxBytes: 1024 * 1024,
    });
    expect(upload.errors).toEqual(
      expect.arrayContaining(["UNAUTHORIZED", "VALIDATION_FAILED", "PAYLOAD_TOO_LARGE"]),
    );
    expect(successOf(upload)).toEqual({ status: 200, schema: UserSchema });

    const avatar: RouteDefinition = contract.getAvatar;
    expect(avatar).toMatchObject({ method: "GET", auth: false });
    expect(successOf(avatar)).toEqual({ status: 200, schema: null });
    expect(avatar.download?.mediaTypes).toEqual(upload.upload?.mediaTypes);
    expect(avatar.errors).toContain("NOT_FOUND");
  });
});

describe("OpenAPI document", () => {
  interface Operation {
    operationId: string;
    parameters?: Array<{ name: string; in: string; required: boolean }>;
    security: Array<Record<string, string[]>>;
    requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
    responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
  }
  const doc = generateOpenApiDocument() as {
    openapi: string;
    servers: Array<{ url: string }>;
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, unknown> };
  };
  const operation = (route: RouteDefinition) =>
    doc.paths[openApiPathOf(route.path)]?.[route.method.toLowerCase()];

  it("is OpenAPI 3.1 and lists every route of the contract", () => {
    expect(doc.openapi).toBe("3.1.0");
    for (const [name, route] of Object.entries(contract)) {
      expect(operation(route)?.operationId).toBe(name);
    }
  });

  it("writes path parameters the OpenAPI way and declares them", () => {
    expect(openApiPathOf("/api/avatars/:avatarId")).toBe("/api/avatars/{avatarId}");
    expect(doc.paths).not.toHaveProperty("/api/avatars/:avatarId");
    expect(operation(contract.getAvatar)?.parameters).toEqual([
      { name: "avatarId", in: "path", required: true, schema: { type: "string" } },
    ]);
  });

  it("declares the session id of DELETE /api/me/sessions/{sessionId} and the 202 of a deletion", () => {
    expect(operation(contract.revokeSession)?.parameters).toEqual([
      { name: "sessionId", in: "path", required: true, schema: { type: "string" } },
    ]);
    expect(operation(contract.revokeSession)?.responses).toHaveProperty("204");
    expect(operation(contract.requestDeletion)?.responses["202"]?.content).toEqual({
      "application/json": { schema: { $ref: "#/components/schemas/DeletionScheduled" } },
    });
  });

  it("gives the avatar upload a multipart body with one binary file field", () => {
    const content = operation(contract.uploadAvatar)?.requestBody?.content;
    expect(Object.keys(content ?? {})).toEqual(["multipart/form-data"]);
    expect(content?.["multipart/form-data"]?.schema).toEqual({
      type: "object",
      required: ["file"],
      properties: { file: { type: "string", format: "binary" } },
    });
  });

  it("answers the avatar as image bytes, not JSON", () => {
    const content = operation(contract.getAvatar)?.responses["200"]?.content;
    expect(Object.keys(content ?? {})).toEqual(["image/jpeg", "image/png", "image/webp"]);
    expect(content?.["image/png"]?.schema).toEqual({ type: "string", format: "binary" });
  });

  it("says which routes need a Bearer token and which need none, and where it is served", () => {
    for (const route of Object.values(contract) as RouteDefinition[]) {
      const security = route.auth ? [{ bearerAuth: [] }] : [];
      expect(operation(route)?.security, route.path).toEqual(security);
    }
    expect(doc.servers).toEqual([{ url: "/" }]);
    expect(generateOpenApiDocument({ serverUrl: "https://wxauth.example.cn" }).servers).toEqual([
      { url: "https://wxauth.example.cn" },
    ]);
  });

  it("passes Redocly's recommended rules with no errors", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "wxauth-openapi-"));
    try {
      const file = path.join(dir, "openapi.json");
      writeFileSync(file, JSON.stringify(doc, null, 2));
      const cli = createRequire(import.meta.url).resolve("@redocly/cli/bin/cli.js");
      const result = spawnSync(
        process.execPath,
        [cli, "lint", "--extends", "recommended", "--format", "json", file],
        {
          encoding: "utf8",
          // Offline and quiet: no usage reports, no update check.
          env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
          timeout: 60_000,
        },
      );
      const report = JSON.parse(result.stdout) as {
        totals: { errors: number };
        problems: Array<{ ruleId: string; severity: string; message: string }>;
      };
      const errors = report.problems
        .filter((problem) => problem.severity === "error")
        .map((problem) => `${problem.ruleId}: ${problem.message}`);
      expect(errors).toEqual([]);
      expect(report.totals.errors).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("has no dangling $ref", () => {
    const refs = JSON.stringify(doc).match(/"#\/components\/schemas\/[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const name = ref.slice('"#/components/schemas/'.length, -1);
      expect(doc.components.schemas, name).toHaveProperty(name);
    }
  });
});

describe("maskPhone", () => {
  it("hides the middle of the number", () => {
    expect(maskPhone("+8613800138000")).toBe("138****8000");
    expect(maskPhone("+85251234567")).toBe("852****4567");
    expect(maskPhone("+8512345")).toBe("85****45");
  });
});

describe("validation in WeChat's runtime", () => {
  it("never calls Function (WeChat forbids code generation), so parses need no jitless switch", () => {
    // A fresh process, so no earlier parse has compiled anything; the Function stand-in is in place
    // before zod loads, as WeChat's is.
    const script = `
      const RealFunction = Function;
      let calls = 0;
      globalThis.Function = new Proxy(RealFunction, {
        apply: (...args) => (calls++, Reflect.apply(...args)),
        construct: (...args) => (calls++, Reflect.construct(...args)),
      });
      const contracts = await import(${JSON.stringify(
        fileURLToPath(new URL("../dist/index.js", import.meta.url)),
      )});
      const user = {
        id: "u", phone: "+8613800138000", nickname: null, avatarUrl: null,
        createdAt: "2026-11-20T10:00:00Z", deletionScheduledAt: null,
      };
      const parsed = [
        contracts.WechatLoginResponseSchema.parse({
          status: "authenticated", accessToken: "a", refreshToken: "r", expiresIn: 900, user,
        }).status,
        contracts.UserSchema.parse(user).id,
        contracts.UpdateMeRequestSchema.parse({ nickname: " n " }).nickname,
        contracts.ErrorBodySchema.safeParse({}).success,
      ];
      console.log(JSON.stringify({ parsed, calls }));
    `;
    const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({
      parsed: ["authenticated", "u", "n", false],
      calls: 0,
    });
  });
});
