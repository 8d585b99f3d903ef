import { SandboxSmsMessagesSchema } from "@wxauth/contracts/sandbox";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { freePort } from "../testing/node-process.js";
import { createSmsSender, disabledSmsSender, TencentSmsSender } from "./sms-sender.js";
import {
  recordingSmsLogger,
  rejectionOf,
  startSmsSandbox,
  type SmsSandbox,
} from "../testing/sms.js";

let sms: SmsSandbox;
beforeAll(async () => {
  sms = await startSmsSandbox();
});
afterAll(() => sms.close());
beforeEach(() => sms.sandbox.reset());

const tencentConfig = (env?: Record<string, string>) => sms.config(env);

async function sandboxMessages() {
  const res = await fetch(`${sms.sandbox.url}/__dev/sms`);
  return SandboxSmsMessagesSchema.parse(await res.json()).messages;
}

describe("TencentSmsSender against the sandbox", () => {
  it("sends SendSms through the official SDK, template parameters [code, minutes]", async () => {
    const logger = recordingSmsLogger();
    const sender = createSmsSender(tencentConfig(), logger);
    expect(sender).toBeInstanceOf(TencentSmsSender);
    await sender.send("+8613800138000", "482913", 5);
    expect(await sandboxMessages()).toEqual([
      {
        phone: "+8613800138000",
        templateId: tencentConfig().tencent.templateId,
        params: ["482913", "5"],
        sentAt: expect.any(String),
      },
    ]);
    expect(logger.entries).toEqual([]);
  });

  it("turns a per-number refusal into SMS_UNAVAILABLE, logged without phone or code", async () => {
    const logger = recordingSmsLogger();
    const sender = createSmsSender(tencentConfig(), logger);
    const error = await rejectionOf(
      sender.send("+8619900001234", "482913", 5, { requestId: "req-1" }),
    );
    expect(error.code).toBe("SMS_UNAVAILABLE");
    expect(error.retryable).toBe(false);
    expect(logger.entries).toEqual([
      {
        level: "warn",
        obj: {
          event: "sms_refused",
          requestId: "req-1",
          phone: "199****1234",
          tencentCode: "LimitExceeded.PhoneNumberDailyLimit",
          tencentRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        },
        msg: expect.any(String),
      },
    ]);
    expect(JSON.stringify(logger.entries)).not.toMatch(/19900001234|482913/);
    expect(await sandboxMessages()).toEqual([]);
  });

  it("turns AuthFailure (wrong key) into SMS_UNAVAILABLE, logged as misconfiguration", async () => {
    const logger = recordingSmsLogger();
    const sender = createSmsSender(
      tencentConfig({ TENCENTCLOUD_SECRET_KEY: "not-the-sandbox-key" }),
      logger,
    );
    const error = await rejectionOf(sender.send("+8613800138000", "482913", 5));
    expect(error.code).toBe("SMS_UNAVAILABLE");
    expect(logger.entries).toEqual([
      expect.objectContaining({
        level: "error",
        obj: expect.objectContaining({
          tencentCode: "AuthFailure.SignatureFailure",
          tencentRequestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          phone: "138****8000",
        }),
      }),
    ]);
    expect(JSON.stringify(logger.entries)).not.toMatch(/13800138000|482913|not-the-sandbox-key/);
  });

  it("turns a template error of the application into SMS_UNAVAILABLE", async () => {
    const logger = recordingSmsLogger();
    const sender = createSmsSender(tencentConfig({ TENCENT_SMS_SDK_APP_ID: "1400999999" }), logger);
    expect((await rejectionOf(sender.send("+8613800138000", "482913", 5))).code).toBe(
      "SMS_UNAVAILABLE",
    );
    expect(logger.entries[0]?.obj).toMatchObject({
      tencentCode: "InvalidParameterValue.SdkAppIdNotExist",
    });
  });

  it("answers SMS_UNAVAILABLE, retryable, when Tencent cannot be reached", async () => {
    const logger = recordingSmsLogger();
    const closedPort = await freePort();
    const sender = createSmsSender(
      tencentConfig({ TENCENT_SMS_ENDPOINT: `http://127.0.0.1:${closedPort}` }),
      logger,
    );
    const error = await rejectionOf(sender.send("+8613800138000", "482913", 5));
    expect(error.code).toBe("SMS_UNAVAILABLE");
    expect(error.retryable).toBe(true);
    expect(logger.entries[0]).toMatchObject({
      level: "error",
      obj: { event: "sms_refused", tencentCode: null },
    });
  });
});

describe("SMS_PROVIDER=none", () => {
  it("sends nothing and answers SMS_UNAVAILABLE", async () => {
    const sender = createSmsSender(loadConfig({ SMS_PROVIDER: "none" }).sms, recordingSmsLogger());
    expect(sender).toBe(disabledSmsSender);
    const error = await rejectionOf(sender.send("+8613800138000", "482913", 5));
    expect(error.code).toBe("SMS_UNAVAILABLE");
    expect(error.status).toBe(503);
    expect(await sandboxMessages()).toEqual([]);
  });
});
