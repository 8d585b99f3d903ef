import {
  AuthenticatedSchema,
  RegistrationRequiredSchema,
  WechatLoginResponseSchema,
} from "@wxauth/contracts";
import { afterEach, describe, expect, it } from "vitest";
import {
  expectErrorBody,
  startTestApi,
  uniquePhoneNumber,
  type TestApi,
} from "../testing/harness.js";

let api: TestApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const loginWith = (app: TestApi, code: string) =>
  app.request("POST", "/api/auth/wechat/login", { body: { code } });

describe("concurrency", () => {
  it("the same login code submitted 10 times at once reaches WeChat once, and every submit gets the same answer", async () => {
    api = await startTestApi();
    const registered = await api.register();
    for (const identity of [{ openid: registered.openid }, {}]) {
      const before = (await api.stats()).calls.jscode2session;
      const { code } = await api.loginCode(identity);
      const results = await Promise.all(Array.from({ length: 10 }, () => loginWith(api!, code)));
      expect((await api.stats()).calls.jscode2session - before).toBe(1);
      const answers = results.map((result) => {
        expect(result.status).toBe(200);
        return WechatLoginResponseSchema.parse(result.body);
      });
      expect(new Set(answers.map((answer) => answer.status)).size).toBe(1);
      if (identity.openid) {
        const users = answers.map((answer) => AuthenticatedSchema.parse(answer).user.id);
        expect(new Set(users)).toEqual(new Set([registered.user.id]));
      } else {
        for (const answer of answers) RegistrationRequiredSchema.parse(answer);
      }
    }
  });

  it("8 WeChat accounts racing for one phone: one winner and seven 409 PHONE_ALREADY_BOUND", async () => {
    api = await startTestApi();
    const phoneNumber = uniquePhoneNumber();
    const contenders = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const { code, openid } = await api!.loginCode();
        const login = RegistrationRequiredSchema.parse(await api!.login(code));
        return {
          registrationTicket: login.registrationTicket,
          phoneCode: await api!.phoneCode(phoneNumber, openid),
        };
      }),
    );
    const results = await Promise.all(
      contenders.map((body) => api!.request("POST", "/api/auth/wechat/register", { body })),
    );
    const winners = results.filter((result) => result.status === 201);
    const losers = results.filter((result) => result.status === 409);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(7);
    for (const loser of losers) expectErrorBody(loser, "PHONE_ALREADY_BOUND");
    const holders = await api.deps.db
      .selectFrom("users")
      .select("id")
      .where("phone", "=", `+86${phoneNumber}`)
      .execute();
    expect(holders.length).toBe(1);
    expect(await api.deps.db.selectFrom("users").select("id").execute()).toHaveLength(1);
  });

  it("40 registrations on a cold process fetch the WeChat access token once", async () => {
    api = await startTestApi();
    const pending = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const { code, openid } = await api!.loginCode();
        const login = RegistrationRequiredSchema.parse(await api!.login(code));
        return {
          registrationTicket: login.registrationTicket,
          phoneCode: await api!.phoneCode(uniquePhoneNumber(), openid),
        };
      }),
    );
    expect((await api.stats()).calls.stable_token).toBe(0);
    const results = await Promise.all(
      pending.map((body) => api!.request("POST", "/api/auth/wechat/register", { body })),
    );
    for (const result of results) expect(result.status).toBe(201);
    const { calls } = await api.stats();
    expect(calls.stable_token + calls.token).toBe(1);
    expect(calls.getuserphonenumber).toBe(40);
    expect(await api.deps.db.selectFrom("users").select("id").execute()).toHaveLength(40);
  });
});
