/*
 * SIGTERM under load, on the built API as a real process: 30 logins waiting on a slow WeChat are
 * all answered, the process exits 0 well within 10 s, and a restart on the same database serves
 * the same users (and redeems the tickets handed out during the drain).
 */
import {
  AuthenticatedSchema,
  UserSchema,
  WechatLoginResponseSchema,
  type WechatLoginResponse,
} from "@wxauth/contracts";
import { startSandbox, type RunningSandbox } from "@wxauth/wechat-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSuiteDatabase, uniquePhoneNumber, type SuiteDatabase } from "../testing/harness.js";
import { ensureBuilt, startApiProcess, type ApiProcess } from "../testing/api-process.js";
import { reportFigure } from "../testing/figures.js";

const IN_FLIGHT = 30;
const RETURNING_USERS = 10;
const SLOW_WECHAT_MS = 1500;
const EXIT_WITHIN_MS = 10_000;

let sandbox: RunningSandbox;
let database: SuiteDatabase;
let env: Record<string, string>;
const processes: ApiProcess[] = [];

beforeAll(async () => {
  ensureBuilt();
  sandbox = await startSandbox({ port: 0, host: "127.0.0.1", log: () => {} });
  database = await createSuiteDatabase();
  env = {
    NODE_ENV: "development",
    DATABASE_URL: database.url,
    WECHAT_API_BASE_URL: sandbox.url,
    WECHAT_TIMEOUT_MS: "5000",
    AUTH_RATE_LIMIT_PER_MINUTE: "1000000",
  };
}, 180_000);

afterAll(async () => {
  for (const api of processes) if (api.child.exitCode === null) api.child.kill("SIGKILL");
  await sandbox.close();
  await database.drop();
});

async function post(
  baseUrl: string,
  route: string,
  body: unknown,
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(new URL(route, baseUrl), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function dev<T>(route: string, body?: unknown): Promise<T> {
  return (await post(sandbox.url, route, body ?? {})).body as T;
}

const loginCode = (openid?: string) =>
  dev<{ code: string; openid: string }>("/__dev/login-code", openid ? { openid } : {});

async function login(baseUrl: string, code: string): Promise<WechatLoginResponse> {
  const result = await post(baseUrl, "/api/auth/wechat/login", { code });
  if (result.status !== 200)
    throw new Error(`login: ${result.status} ${JSON.stringify(result.body)}`);
  return WechatLoginResponseSchema.parse(result.body);
}

async function registerWithTicket(baseUrl: string, registrationTicket: string, openid: string) {
  const { code: phoneCode } = await dev<{ code: string }>("/__dev/phone-code", {
    phoneNumber: uniquePhoneNumber(),
    openid,
  });
  const result = await post(baseUrl, "/api/auth/wechat/register", {
    registrationTicket,
    phoneCode,
  });
  expect(result.status).toBe(201);
  return AuthenticatedSchema.parse(result.body);
}

async function start(): Promise<ApiProcess> {
  const api = await startApiProcess(env);
  processes.push(api);
  return api;
}

describe("SIGTERM under load", () => {
  it("answers all 30 in-flight logins, exits 0 within 10 s, and a restart serves the same users", async () => {
    const first = await start();

    const returning: Array<{ openid: string; userId: string; accessToken: string }> = [];
    for (let i = 0; i < RETURNING_USERS; i++) {
      const { code, openid } = await loginCode();
      const answer = await login(first.url, code);
      if (answer.status !== "registration_required") throw new Error("expected a new user");
      const session = await registerWithTicket(first.url, answer.registrationTicket, openid);
      returning.push({ openid, userId: session.user.id, accessToken: session.accessToken });
    }

    // Slow WeChat: every one of the 30 logins sits in jscode2session when the signal arrives.
    sandbox.reset();
    await dev("/__dev/fail", { api: "jscode2session", delayMs: SLOW_WECHAT_MS, times: IN_FLIGHT });
    const identities = [
      ...returning.map((user) => user.openid),
      ...Array.from({ length: IN_FLIGHT - RETURNING_USERS }, () => undefined),
    ];
    const codes = await Promise.all(identities.map((openid) => loginCode(openid)));
    const inFlight = codes.map(({ code }) => post(first.url, "/api/auth/wechat/login", { code }));
    await expect
      .poll(() => sandbox.stats().calls.jscode2session, { timeout: 10_000, interval: 20 })
      .toBe(IN_FLIGHT);

    const signalledAt = performance.now();
    first.child.kill("SIGTERM");
    // It stops listening at once, while the 30 are still waiting on WeChat: nothing new gets in.
    const refusedNewConnection = expect
      .poll(
        () =>
          fetch(`${first.url}/api/health`).then(
            () => "accepted",
            () => "refused",
          ),
        { timeout: SLOW_WECHAT_MS, interval: 50 },
      )
      .toBe("refused");
    const exitCode = await Promise.race([
      first.exited,
      new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), EXIT_WITHIN_MS)),
    ]);
    const drainMs = Math.round(performance.now() - signalledAt);
    const answers = await Promise.all(inFlight);

    expect(exitCode, first.output().slice(-2000)).toBe(0);
    expect(drainMs).toBeLessThan(EXIT_WITHIN_MS);
    // It waited for WeChat (the answers came after the signal) rather than cutting them off.
    expect(drainMs).toBeGreaterThan(SLOW_WECHAT_MS / 2);
    reportFigure("SIGTERM drain with 30 logins in flight on a 1500 ms WeChat (ms)", drainMs);

    const pendingTickets: Array<{ openid: string; registrationTicket: string }> = [];
    answers.forEach((answer, i) => {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      const body = WechatLoginResponseSchema.parse(answer.body);
      const user = returning[i];
      if (user) {
        expect(body.status).toBe("authenticated");
        if (body.status === "authenticated") expect(body.user.id).toBe(user.userId);
      } else {
        expect(body.status).toBe("registration_required");
        if (body.status === "registration_required") {
          pendingTickets.push({
            openid: codes[i]?.openid ?? "",
            registrationTicket: body.registrationTicket,
          });
        }
      }
    });
    expect(pendingTickets).toHaveLength(IN_FLIGHT - RETURNING_USERS);
    await refusedNewConnection;

    const second = await start();
    for (const user of returning) {
      const { code } = await loginCode(user.openid);
      const answer = await login(second.url, code);
      expect(answer.status).toBe("authenticated");
      if (answer.status === "authenticated") expect(answer.user.id).toBe(user.userId);
    }
    // Access tokens from before the restart still work, and tickets issued during the drain
    // were committed: they redeem on the new process.
    const me = await fetch(`${second.url}/api/me`, {
      headers: { authorization: `Bearer ${returning[0]?.accessToken ?? ""}` },
    });
    expect(me.status).toBe(200);
    expect(UserSchema.parse(await me.json()).id).toBe(returning[0]?.userId);
    for (const { openid, registrationTicket } of pendingTickets.slice(0, 3)) {
      await registerWithTicket(second.url, registrationTicket, openid);
    }

    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 90_000);
});
