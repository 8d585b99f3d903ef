/*
 * What Redis is for: two API instances (two WeChat clients, two Redis connections) share one
 * access token and one code memo, so WeChat sees one token fetch and one code exchange.
 */
import {
  SandboxLoginCodeResponseSchema,
  SandboxPhoneCodeResponseSchema,
  sandboxRoutes,
} from "@wxauth/contracts/sandbox";
import { WechatClient } from "@wxauth/wechat";
import {
  SANDBOX_APPID,
  SANDBOX_SECRET,
  startSandbox,
  type RunningSandbox,
} from "@wxauth/wechat-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStore, type StoreHandle } from "./create-store.js";
import {
  PATIENT_COMMAND_TIMEOUT_MS,
  TEST_REDIS_URL,
  deleteTestKeys,
  randomKeyPrefix,
  recordingLogger,
  requireRedis,
} from "../testing/redis.js";

async function devPost(sandbox: RunningSandbox, path: string, body: unknown): Promise<unknown> {
  const response = await fetch(new URL(path, sandbox.url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`sandbox ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

describe("two instances sharing Redis", () => {
  let sandbox: RunningSandbox;
  const handles: StoreHandle[] = [];
  let instances: WechatClient[];
  const keyPrefix = randomKeyPrefix();

  beforeAll(async () => {
    await requireRedis();
    sandbox = await startSandbox({ port: 0, host: "127.0.0.1", log: () => {} });
    for (let i = 0; i < 2; i++) {
      handles.push(
        await createStore(TEST_REDIS_URL, recordingLogger(), {
          keyPrefix,
          commandTimeoutMs: PATIENT_COMMAND_TIMEOUT_MS,
        }),
      );
    }
    instances = handles.map(
      ({ store }) =>
        new WechatClient({
          appid: SANDBOX_APPID,
          secret: SANDBOX_SECRET,
          baseUrl: sandbox.url,
          timeoutMs: 5000,
          store,
        }),
    );
  });

  afterAll(async () => {
    await Promise.all(handles.map((handle) => handle.close()));
    await sandbox?.close();
    await deleteTestKeys(keyPrefix);
  });

  it("fetch the access token once for a cold burst of 40 phone requests", async () => {
    sandbox.reset();
    const requests = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const { code } = SandboxPhoneCodeResponseSchema.parse(
          await devPost(sandbox, sandboxRoutes.phoneCode, {
            phoneNumber: `1380013${String(i).padStart(4, "0")}`,
            openid: `o-shared-${i}`,
          }),
        );
        return { code, openid: `o-shared-${i}`, i };
      }),
    );
    const phones = await Promise.all(
      requests.map(({ code, openid, i }) =>
        (instances[i % 2] as WechatClient).getPhoneNumber(code, openid),
      ),
    );
    expect(phones.map((phone) => phone.purePhoneNumber)).toEqual(
      requests.map(({ i }) => `1380013${String(i).padStart(4, "0")}`),
    );
    const { calls } = sandbox.stats();
    expect(calls.stable_token + calls.token).toBe(1);
    expect(calls.getuserphonenumber).toBe(40);
  });

  it("exchange a login code submitted to both instances with WeChat once", async () => {
    sandbox.reset();
    const { code, openid } = SandboxLoginCodeResponseSchema.parse(
      await devPost(sandbox, sandboxRoutes.loginCode, {}),
    );
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (instances[i % 2] as WechatClient).code2Session(code)),
    );
    for (const result of results) expect(result).toEqual(results[0]);
    expect(results[0]?.openid).toBe(openid);
    expect(sandbox.stats().calls.jscode2session).toBe(1);
  });
});
