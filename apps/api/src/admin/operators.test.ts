import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  OPERATOR_SESSION_IDLE_TIMEOUT_S,
  OPERATOR_SESSION_MAX_AGE_S,
  OperatorSessionSchema,
  AdminErrorBodySchema,
} from "@wxauth/contracts/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { API_ROOT } from "../config.js";
import {
  TEST_SCRYPT_COST,
  startTestApi,
  type HttpResult,
  type TestApi,
} from "../testing/harness.js";
import { createOperator, signIn, signInRequest, signedInOperator } from "../testing/operators.js";
import {
  liveSessionCutoffs,
  MAX_CONCURRENT_PASSWORD_HASHES,
  MAX_WAITING_PASSWORD_HASHES,
} from "./operators.service.js";
import { DEFAULT_SCRYPT_COST, hashPassword, verifyPassword } from "./passwords.js";

const run = promisify(execFile);

const codeOf = (result: HttpResult) => AdminErrorBodySchema.parse(result.body).error.code;

let api: TestApi;
/** An API of its own for the sign-in limits, lowered so a test reaches them. */
let limited: TestApi;
beforeAll(async () => {
  [api, limited] = await Promise.all([
    startTestApi(),
    startTestApi({
      overrides: {
        operators: {
          scryptCost: TEST_SCRYPT_COST,
          signInLimits: { perName: 5, perAddress: 12, windowMs: 15 * 60_000 },
        },
      },
    }),
  ]);
});
afterAll(() => Promise.all([api.close(), limited.close()]));

describe("operator:create", () => {
  it("prints a one-time password on its last line, which signs in once and must be changed", async () => {
    const name = `first-admin-${process.pid}`;
    const { stdout } = await run(
      process.execPath,
      ["--import", "tsx", "src/admin/operator-create-command.ts", name, "--role", "admin"],
      {
        cwd: API_ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          NODE_ENV: "test",
          DATABASE_URL: api.config.databaseUrl,
          LOG_LEVEL: "silent",
        },
      },
    );
    const password = stdout.trim().split("\n").at(-1)!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);

    const operator = await signIn(api, name, password);
    expect(operator.session).toMatchObject({
      operator: { name, role: "admin" },
      passwordChangeRequired: true,
    });
    const before = await operator.request("GET", "/api/admin/users");
    expect(before.status).toBe(403);
    expect(codeOf(before)).toBe("PASSWORD_CHANGE_REQUIRED");

    const newPassword = "a long passphrase of my own";
    const changed = await operator.request("POST", "/api/admin/password", {
      body: { currentPassword: password, newPassword },
    });
    expect(changed.status, changed.text).toBe(200);
    expect(OperatorSessionSchema.parse(changed.body).passwordChangeRequired).toBe(false);
    expect((await operator.request("GET", "/api/admin/users")).status).toBe(200);
    // The one-time password is gone; the new one signs in with nothing more to do.
    expect((await signInRequest(api, name, password)).status).toBe(401);
    const again = await signIn(api, name, newPassword);
    expect(again.session.passwordChangeRequired).toBe(false);
  });

  it("gives an existing operator a new one-time password with --reset, ending their sessions", async () => {
    const operator = await signedInOperator(api, "viewer");
    const password = await api.deps.operators.create(operator.name, "viewer", { reset: true });
    expect((await operator.request("GET", "/api/admin/session")).status).toBe(401);
    expect((await signInRequest(api, operator.name, operator.password)).status).toBe(401);
    const again = await signIn(api, operator.name, password);
    expect(again.session.passwordChangeRequired).toBe(true);
  });

  it("refuses a name that is taken, and a role that does not exist", async () => {
    const { name } = await createOperator(api, "viewer");
    const env = {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "test",
      DATABASE_URL: api.config.databaseUrl,
    };
    const script = ["--import", "tsx", "src/admin/operator-create-command.ts"];
    await expect(
      run(process.execPath, [...script, name, "--role", "viewer"], { cwd: API_ROOT, env }),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining("already exists"),
    });
    await expect(
      run(process.execPath, [...script, "someone", "--role", "root"], { cwd: API_ROOT, env }),
    ).rejects.toMatchObject({
      code: 2,
    });
  });
});

describe("passwords", () => {
  it("hash with scrypt at OWASP's cost by default, naming the cost in the hash", async () => {
    expect(DEFAULT_SCRYPT_COST).toEqual({ N: 2 ** 17, r: 8, p: 1 });
    const hash = await hashPassword("correct horse battery staple");
    expect(hash).toMatch(/^scrypt\$131072\$8\$1\$[\w-]{22}\$[\w-]{86}$/);
    expect(await verifyPassword("correct horse battery staple", hash)).toBe(true);
    expect(await verifyPassword("correct horse battery stapler", hash)).toBe(false);
  });
});

describe("the operator session", () => {
  it("is a cookie: HttpOnly, SameSite=Strict, scoped to /api/admin, not Secure outside production", async () => {
    const { name, password } = await createOperator(api, "viewer");
    const result = await signInRequest(api, name, password);
    const cookie = result.headers["set-cookie"]?.[0] ?? "";
    expect(cookie).toMatch(/^wxauth_operator=[\w-]{43};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/api/admin");
    expect(cookie).not.toContain("Secure");
    expect(cookie).not.toMatch(/Max-Age|Expires/);
  });

  it("ends after 30 minutes without a request; each request moves that on", async () => {
    const operator = await signedInOperator(api, "viewer");
    api.clock.advance((OPERATOR_SESSION_IDLE_TIMEOUT_S - 60) * 1000);
    expect((await operator.request("GET", "/api/admin/session")).status).toBe(200);
    api.clock.advance((OPERATOR_SESSION_IDLE_TIMEOUT_S - 60) * 1000);
    expect((await operator.request("GET", "/api/admin/session")).status).toBe(200);
    api.clock.advance((OPERATOR_SESSION_IDLE_TIMEOUT_S + 1) * 1000);
    const expired = await operator.request("GET", "/api/admin/session");
    expect(expired.status).toBe(401);
    expect(codeOf(expired)).toBe("OPERATOR_UNAUTHENTICATED");
  });

  it("ends 12 hours after sign-in however busy, and housekeeping deletes it", async () => {
    const operator = await signedInOperator(api, "viewer");
    const step = (OPERATOR_SESSION_IDLE_TIMEOUT_S - 60) * 1000;
    let elapsed = 0;
    while (elapsed + step < OPERATOR_SESSION_MAX_AGE_S * 1000) {
      api.clock.advance(step);
      elapsed += step;
      expect((await operator.request("GET", "/api/admin/session")).status).toBe(200);
    }
    api.clock.advance(OPERATOR_SESSION_MAX_AGE_S * 1000 - elapsed + 1000);
    const expired = await operator.request("GET", "/api/admin/session");
    expect(expired.status).toBe(401);
    expect(codeOf(expired)).toBe("OPERATOR_UNAUTHENTICATED");
    const { id: operatorId } = await api.deps.db
      .selectFrom("operators")
      .select("id")
      .where("name", "=", operator.name)
      .executeTakeFirstOrThrow();
    expect(
      await api.deps.data.operators.deleteEndedSessions(liveSessionCutoffs(api.clock.now())),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await api.deps.db
        .selectFrom("operator_sessions")
        .select("id")
        .where("operator_id", "=", operatorId)
        .execute(),
    ).toEqual([]);
  });

  it("ends at sign-out: the cookie no longer works and is cleared", async () => {
    const operator = await signedInOperator(api, "admin");
    const out = await operator.request("DELETE", "/api/admin/session");
    expect(out.status).toBe(204);
    expect(out.headers["set-cookie"]?.[0]).toMatch(/^wxauth_operator=;.*Expires=Thu, 01 Jan 1970/);
    expect((await operator.request("GET", "/api/admin/session")).status).toBe(401);
  });

  it("gives the same CSRF token on reload, and ends the operator's other sessions on a password change", async () => {
    const { name, password } = await createOperator(api, "admin");
    const first = await signIn(api, name, password);
    const second = await signIn(api, name, password);
    const reloaded = await first.request("GET", "/api/admin/session");
    expect(OperatorSessionSchema.parse(reloaded.body).csrfToken).toBe(first.session.csrfToken);
    expect(first.session.csrfToken).not.toBe(second.session.csrfToken);

    const changed = await first.request("POST", "/api/admin/password", {
      body: { currentPassword: password, newPassword: "another long passphrase" },
    });
    expect(changed.status).toBe(200);
    expect((await first.request("GET", "/api/admin/session")).status).toBe(200);
    expect((await second.request("GET", "/api/admin/session")).status).toBe(401);
  });

  it("refuses a wrong current password with OPERATOR_PASSWORD_INCORRECT", async () => {
    const operator = await signedInOperator(api, "viewer", { changePassword: false });
    const result = await operator.request("POST", "/api/admin/password", {
      body: { currentPassword: "not the password", newPassword: "a long passphrase of mine" },
    });
    expect(result.status).toBe(403);
    expect(codeOf(result)).toBe("OPERATOR_PASSWORD_INCORRECT");
  });
});

describe("signing in", () => {
  it("answers an unknown name and a wrong password alike, in similar time", async () => {
    const { name } = await createOperator(api, "viewer");
    const timed = async (attempt: () => Promise<HttpResult>) => {
      const started = performance.now();
      const result = await attempt();
      return { result, ms: performance.now() - started };
    };
    const wrong = await timed(() => signInRequest(api, name, "wrong password"));
    const unknown = await timed(() =>
      signInRequest(api, `nobody-${process.pid}`, "wrong password"),
    );
    for (const { result } of [wrong, unknown]) {
      expect(result.status).toBe(401);
      expect(codeOf(result)).toBe("OPERATOR_SIGNIN_FAILED");
    }
    expect(AdminErrorBodySchema.parse(wrong.result.body).error.message).toBe(
      AdminErrorBodySchema.parse(unknown.result.body).error.message,
    );
    // Both hash once: neither answers in a fraction of the other's time.
    expect(unknown.ms).toBeGreaterThan(wrong.ms / 3);
    expect(wrong.ms).toBeGreaterThan(unknown.ms / 3);
  });

  it("limits attempts per name: the 6th in 15 minutes is 429 RATE_LIMITED, even with the right password", async () => {
    const { name, password } = await createOperator(limited, "viewer");
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect((await signInRequest(limited, name, "wrong password")).status).toBe(401);
    }
    const refused = await signInRequest(limited, name, password);
    expect(refused.status).toBe(429);
    expect(codeOf(refused)).toBe("RATE_LIMITED");
    expect(Number(refused.headers["retry-after"])).toBeGreaterThan(0);
  });

  it(`checks ${MAX_CONCURRENT_PASSWORD_HASHES} passwords at once, ${MAX_WAITING_PASSWORD_HASHES} more wait, the others are 429 to try again in a second`, async () => {
    const crowd = await startTestApi({
      overrides: {
        operators: {
          scryptCost: TEST_SCRYPT_COST,
          signInLimits: { perName: 100, perAddress: 100, windowMs: 15 * 60_000 },
        },
      },
    });
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => signInRequest(crowd, `crowd-${i}`, "wrong password")),
      );
      const checked = answers.filter((answer) => codeOf(answer) === "OPERATOR_SIGNIN_FAILED");
      const busy = answers.filter((answer) => codeOf(answer) === "RATE_LIMITED");
      expect(checked.length + busy.length).toBe(20);
      expect(checked.length).toBeGreaterThanOrEqual(
        MAX_CONCURRENT_PASSWORD_HASHES + MAX_WAITING_PASSWORD_HASHES,
      );
      expect(busy.length).toBeGreaterThan(0);
      for (const answer of busy) {
        expect(answer.status).toBe(429);
        expect(answer.headers["retry-after"]).toBe("1");
      }
      // Once they are done, a sign-in is checked again.
      expect(codeOf(await signInRequest(crowd, "crowd-after", "wrong password"))).toBe(
        "OPERATOR_SIGNIN_FAILED",
      );
    } finally {
      await crowd.close();
    }
  });

  it("limits attempts per address across names: past 12 in 15 minutes, any name is refused", async () => {
    // The test above used 6 of this address's 12.
    for (let attempt = 7; attempt <= 12; attempt++) {
      expect((await signInRequest(limited, `someone-${attempt}`, "wrong password")).status).toBe(
        401,
      );
    }
    const { name, password } = await createOperator(limited, "viewer");
    const refused = await signInRequest(limited, name, password);
    expect(refused.status).toBe(429);
    expect(codeOf(refused)).toBe("RATE_LIMITED");
  });
});
