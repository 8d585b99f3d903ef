import { once } from "node:events";
import { createServer, request, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { sms } from "tencentcloud-sdk-nodejs-sms";
import { SandboxSmsMessagesSchema } from "@wxauth/contracts/sandbox";
import { SANDBOX_SMS } from "./index.js";
import { sendSmsRequest, smsClient, testSandbox, type TestSandbox } from "./testing/helpers.js";

/** Signatures carry the wall-clock time the SDK reads, so these sandboxes run on it too. */
const smsSandbox = (options: Parameters<typeof testSandbox>[0] = {}) =>
  testSandbox({ now: Date.now, ...options });

interface TencentFailure {
  code?: string;
  requestId?: string;
  message: string;
}

async function failureOf(call: Promise<unknown>): Promise<TencentFailure> {
  try {
    await call;
  } catch (error) {
    return error as TencentFailure;
  }
  throw new Error("expected the call to fail");
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface CapturedRequest {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Lets the real SDK sign a SendSms, and keeps the request instead of delivering it. */
async function captureSignedRequest(phones: string[]): Promise<CapturedRequest> {
  let captured: CapturedRequest | undefined;
  const recorder = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      captured = { headers: req.headers, body: Buffer.concat(chunks) };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ Response: { SendStatusSet: [], RequestId: "recorded" } }));
    });
  });
  recorder.listen(0, "127.0.0.1");
  await once(recorder, "listening");
  const { port } = recorder.address() as AddressInfo;
  try {
    await smsClient(`http://127.0.0.1:${port}`).SendSms(sendSmsRequest(phones));
  } finally {
    recorder.close();
  }
  if (captured === undefined) throw new Error("the SDK sent nothing");
  return captured;
}

/** Sends headers and body exactly as given (fetch would not let a test set Host). */
async function replay(
  sandbox: TestSandbox,
  { headers, body }: CapturedRequest,
): Promise<{ Response: Record<string, unknown> }> {
  const url = new URL(sandbox.url);
  const req = request({
    host: url.hostname,
    port: url.port,
    method: "POST",
    path: "/",
    headers: { ...headers, "content-length": String(body.length) },
  });
  req.end(body);
  const [res] = (await once(req, "response")) as [NodeJS.ReadableStream];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
    Response: Record<string, unknown>;
  };
}

describe("Tencent Cloud SMS SendSms", () => {
  it("accepts the official SDK's signed request and answers in Tencent's shape", async () => {
    const sandbox = await smsSandbox();
    const response = await smsClient(sandbox.url).SendSms(
      sendSmsRequest(["+8613800138000"], ["482913", "5"]),
    );
    expect(response.RequestId).toMatch(UUID);
    expect(response.SendStatusSet).toEqual([
      {
        SerialNo: expect.stringMatching(/^\d+:\d+$/),
        PhoneNumber: "+8613800138000",
        Fee: 1,
        SessionContext: "",
        Code: "Ok",
        Message: "send success",
        IsoCode: "CN",
      },
    ]);
    const { messages } = SandboxSmsMessagesSchema.parse(await sandbox.getJson("/__dev/sms"));
    expect(messages).toEqual([
      {
        phone: "+8613800138000",
        templateId: SANDBOX_SMS.templateId,
        params: ["482913", "5"],
        sentAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ]);
  });

  it("refuses a wrong secret key with AuthFailure.SignatureFailure and sends nothing", async () => {
    const sandbox = await smsSandbox();
    const failure = await failureOf(
      smsClient(sandbox.url, { secretKey: "not-the-key" }).SendSms(
        sendSmsRequest(["+8613800138000"]),
      ),
    );
    expect(failure.code).toBe("AuthFailure.SignatureFailure");
    expect(failure.requestId).toMatch(UUID);
    expect(sandbox.state.smsMessages()).toEqual([]);
  });

  it("checks the signature against the key configured for the sandbox", async () => {
    const sandbox = await smsSandbox({
      sms: { secretId: "AKIDconfigured", secretKey: "configured-key", sdkAppId: "1400999999" },
    });
    const configured = smsClient(sandbox.url, {
      secretId: "AKIDconfigured",
      secretKey: "configured-key",
    });
    const response = await configured.SendSms({
      ...sendSmsRequest(["+8613800138000"]),
      SmsSdkAppId: "1400999999",
    });
    expect(response.SendStatusSet?.[0]?.Code).toBe("Ok");
    const defaults = await failureOf(
      smsClient(sandbox.url).SendSms(sendSmsRequest(["+8613800138000"])),
    );
    expect(defaults.code).toBe("AuthFailure.SecretIdNotFound");
  });

  describe("a request changed after signing", () => {
    it("is accepted unchanged, so the replay itself is faithful", async () => {
      const sandbox = await smsSandbox();
      const signed = await captureSignedRequest(["+8613800138000"]);
      const answer = await replay(sandbox, signed);
      expect(answer.Response.SendStatusSet).toEqual([
        expect.objectContaining({ PhoneNumber: "+8613800138000", Code: "Ok" }),
      ]);
    });

    it.each([
      [
        "another phone number in the body",
        (signed: CapturedRequest) => ({
          ...signed,
          body: Buffer.from(signed.body.toString("utf8").replace("13800138000", "13900139000")),
        }),
      ],
      [
        "a later timestamp",
        (signed: CapturedRequest) => ({
          ...signed,
          headers: {
            ...signed.headers,
            "x-tc-timestamp": String(Number(signed.headers["x-tc-timestamp"]) + 1),
          },
        }),
      ],
      [
        "another content type",
        (signed: CapturedRequest) => ({
          ...signed,
          headers: { ...signed.headers, "content-type": "text/plain" },
        }),
      ],
      [
        "another host",
        (signed: CapturedRequest) => ({
          ...signed,
          headers: { ...signed.headers, host: "sms.tencentcloudapi.com" },
        }),
      ],
    ])("is refused with AuthFailure.SignatureFailure: %s", async (_name, tamper) => {
      const sandbox = await smsSandbox();
      const signed = await captureSignedRequest(["+8613800138000"]);
      const answer = await replay(sandbox, tamper(signed));
      expect(answer.Response).toEqual({
        Error: { Code: "AuthFailure.SignatureFailure", Message: expect.any(String) },
        RequestId: expect.stringMatching(UUID),
      });
      expect(sandbox.state.smsMessages()).toEqual([]);
    });

    it("is refused with AuthFailure.SignatureExpire when over five minutes old", async () => {
      const sandbox = await smsSandbox({ now: () => Date.now() + 6 * 60_000 });
      const answer = await replay(sandbox, await captureSignedRequest(["+8613800138000"]));
      expect(answer.Response).toMatchObject({ Error: { Code: "AuthFailure.SignatureExpire" } });
    });

    it("is refused with AuthFailure.InvalidAuthorization without a TC3 authorization", async () => {
      const sandbox = await smsSandbox();
      const signed = await captureSignedRequest(["+8613800138000"]);
      const answer = await replay(sandbox, {
        ...signed,
        headers: { ...signed.headers, authorization: "Bearer nothing" },
      });
      expect(answer.Response).toMatchObject({
        Error: { Code: "AuthFailure.InvalidAuthorization" },
      });
    });
  });

  it("fails +861990000… with LimitExceeded.PhoneNumberDailyLimit, per number", async () => {
    const sandbox = await smsSandbox();
    const response = await smsClient(sandbox.url).SendSms(
      sendSmsRequest(["+8619900001234", "+8613800138000"]),
    );
    expect(response.SendStatusSet).toEqual([
      expect.objectContaining({
        PhoneNumber: "+8619900001234",
        Code: "LimitExceeded.PhoneNumberDailyLimit",
        Message: expect.stringMatching(/every day exceeds the upper limit/),
        Fee: 0,
        SerialNo: "",
      }),
      expect.objectContaining({ PhoneNumber: "+8613800138000", Code: "Ok", Fee: 1 }),
    ]);
    expect(sandbox.state.smsMessages().map((message) => message.phone)).toEqual(["+8613800138000"]);
  });

  it("fails a non-E.164 number with InvalidParameterValue.IncorrectPhoneNumber", async () => {
    const sandbox = await smsSandbox();
    const response = await smsClient(sandbox.url).SendSms(sendSmsRequest(["13800138000"]));
    expect(response.SendStatusSet?.[0]).toMatchObject({
      Code: "InvalidParameterValue.IncorrectPhoneNumber",
      Fee: 0,
    });
  });

  it.each([
    ["another SDK app id", { SmsSdkAppId: "1400000001" }, "InvalidParameterValue.SdkAppIdNotExist"],
    ["no numbers", { PhoneNumberSet: [] }, "MissingParameter.EmptyPhoneNumberSet"],
    ["no template", { TemplateId: "" }, "MissingParameter"],
  ])("refuses a request with %s", async (_name, change, code) => {
    const sandbox = await smsSandbox();
    const failure = await failureOf(
      smsClient(sandbox.url).SendSms({ ...sendSmsRequest(["+8613800138000"]), ...change }),
    );
    expect(failure.code).toBe(code);
    expect(sandbox.state.smsMessages()).toEqual([]);
  });

  it("checks the action and version headers", async () => {
    const sandbox = await smsSandbox();
    const action = await failureOf(
      smsClient(sandbox.url).request("PullSmsSendStatus", { Limit: 10 }),
    );
    expect(action.code).toBe("InvalidAction");
    const oldVersion = new sms.v20190711.Client({
      credential: { secretId: SANDBOX_SMS.secretId, secretKey: SANDBOX_SMS.secretKey },
      region: "ap-guangzhou",
      profile: { httpProfile: { endpoint: new URL(sandbox.url).host, protocol: "http://" } },
    });
    const version = await failureOf(
      oldVersion.SendSms({
        PhoneNumberSet: ["+8613800138000"],
        SmsSdkAppid: SANDBOX_SMS.sdkAppId,
        TemplateID: SANDBOX_SMS.templateId,
      }),
    );
    expect(version.code).toBe("NoSuchVersion");
  });

  it("logs one line per SMS, the number masked, the template parameters left out", async () => {
    const sandbox = await smsSandbox();
    await smsClient(sandbox.url).SendSms(sendSmsRequest(["+8613800138000"], ["482913", "5"]));
    await failureOf(
      smsClient(sandbox.url, { secretKey: "wrong" }).SendSms(sendSmsRequest(["+8613800138000"])),
    );
    expect(sandbox.logs).toEqual([
      expect.stringMatching(/^POST \/ api=SendSms sms=138\*\*\*\*8000:Ok \d+\.\dms$/),
      expect.stringMatching(/^POST \/ api=SendSms error=AuthFailure\.SignatureFailure \d+\.\dms$/),
    ]);
    const everything = sandbox.logs.join("\n");
    for (const secret of ["13800138000", "482913", SANDBOX_SMS.secretKey]) {
      expect(everything).not.toContain(secret);
    }
  });
});

describe("GET /__dev/sms", () => {
  async function sandboxWithThreeSms() {
    const sandbox = await smsSandbox();
    const client = smsClient(sandbox.url);
    await client.SendSms(sendSmsRequest(["+8613800138000"], ["111111", "5"]));
    await client.SendSms(sendSmsRequest(["+85251234567"], ["222222", "5"]));
    await client.SendSms(sendSmsRequest(["+8613800138000"], ["333333", "5"]));
    return sandbox;
  }

  it("lists every SMS newest first", async () => {
    const sandbox = await sandboxWithThreeSms();
    const { messages } = SandboxSmsMessagesSchema.parse(await sandbox.getJson("/__dev/sms"));
    expect(messages.map((message) => message.params[0])).toEqual(["333333", "222222", "111111"]);
  });

  it.each(["+8613800138000", "%2B8613800138000", "13800138000"])(
    "filters by ?phone=%s",
    async (phone) => {
      const sandbox = await sandboxWithThreeSms();
      const { messages } = SandboxSmsMessagesSchema.parse(
        await sandbox.getJson(`/__dev/sms?phone=${phone}`),
      );
      expect(messages.map((message) => [message.phone, message.params[0]])).toEqual([
        ["+8613800138000", "333333"],
        ["+8613800138000", "111111"],
      ]);
    },
  );

  it("answers a phone that is no phone with a readable 400", async () => {
    const sandbox = await smsSandbox();
    const res = await sandbox.get("/__dev/sms?phone=abc");
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/^phone: /) });
  });

  it("is emptied by POST /__dev/reset", async () => {
    const sandbox = await sandboxWithThreeSms();
    expect((await sandbox.post("/__dev/reset", {})).status).toBe(200);
    expect(await sandbox.getJson("/__dev/sms")).toEqual({ messages: [] });
  });
});
