import { createHash, createHmac, randomInt, randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { maskPhone } from "@wxauth/contracts";
import { SANDBOX_SMS_DAILY_LIMIT_PREFIX } from "@wxauth/contracts/sandbox";
import { parseJson } from "./http.js";
import type { SandboxState } from "./state.js";

/** What the sandbox accepts as Tencent Cloud: one API key pair and one SMS application. */
export interface SmsCredentials {
  secretId: string;
  secretKey: string;
  sdkAppId: string;
}

export interface TencentCall {
  method: string;
  /** The request path and query, as the signature's canonical request names them. */
  path: string;
  query: string;
  headers: IncomingHttpHeaders;
  /** The exact bytes received: the signature's payload hash covers them. */
  body: Buffer;
}

export interface TencentAnswer {
  /** Always answered as HTTP 200: Tencent Cloud API v3 puts every error in the body. */
  body: { Response: object };
  /** What the log line shows: the error code, or each masked number with its outcome. */
  summary: string;
}

export const SEND_SMS_ACTION = "SendSms";
export const SMS_API_VERSION = "2021-01-11";
const ALGORITHM = "TC3-HMAC-SHA256";
/** Tencent refuses a request whose X-TC-Timestamp is more than five minutes off its clock. */
const SIGNATURE_VALIDITY_S = 300;
const MAX_NUMBERS_PER_REQUEST = 200;
const E164 = /^\+[1-9]\d{6,14}$/;
/** `TC3-HMAC-SHA256 Credential=<id>/<date>/<service>/tc3_request, SignedHeaders=…, Signature=…` */
const AUTHORIZATION = new RegExp(
  "^TC3-HMAC-SHA256 Credential=([^/\\s]+)/(\\d{4}-\\d{2}-\\d{2})/([^/\\s]+)/tc3_request, " +
    "SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$",
);

class TencentError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const missing = (name: string) =>
  new TencentError("MissingParameter", `The request is missing a required parameter \`${name}\`.`);

function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac("sha256", key).update(data).digest();
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

/** The UTC day of a Unix timestamp, as the credential scope names it. */
function utcDate(timestampS: number): string {
  return new Date(timestampS * 1000).toISOString().slice(0, 10);
}

/**
 * Checks a TC3-HMAC-SHA256 signature as Tencent does, with the credential scope the request names:
 * the SDK takes the scope's service from the endpoint's first label (`sms` for
 * sms.tencentcloudapi.com, `127` for 127.0.0.1:3100), and signs the host without its port.
 */
function verifySignature(call: TencentCall, credentials: SmsCredentials, nowMs: number): void {
  const parts = AUTHORIZATION.exec(header(call.headers, "authorization") ?? "");
  if (parts === null) {
    throw new TencentError(
      "AuthFailure.InvalidAuthorization",
      `The Authorization header is not a valid ${ALGORITHM} authorization.`,
    );
  }
  const [, secretId, date, service, signedHeaderList, signature] = parts as unknown as string[];
  const timestampText = header(call.headers, "x-tc-timestamp");
  if (timestampText === undefined) throw missing("X-TC-Timestamp");
  const timestampS = Number(timestampText);
  if (!/^\d+$/.test(timestampText) || Math.abs(nowMs / 1000 - timestampS) > SIGNATURE_VALIDITY_S) {
    throw new TencentError(
      "AuthFailure.SignatureExpire",
      "Signature expired. Timestamp and server time cannot differ by more than five minutes.",
    );
  }
  if (secretId !== credentials.secretId) {
    throw new TencentError(
      "AuthFailure.SecretIdNotFound",
      "The SecretId is not found, please ensure that your SecretId is correct.",
    );
  }
  const signedHeaders = (signedHeaderList ?? "").split(";");
  if (!signedHeaders.includes("content-type") || !signedHeaders.includes("host")) {
    throw new TencentError(
      "AuthFailure.InvalidAuthorization",
      "SignedHeaders must include content-type and host.",
    );
  }
  const canonicalHeaders = signedHeaders
    .map((name) => {
      const value = (header(call.headers, name) ?? "").trim().toLowerCase();
      return `${name}:${name === "host" ? value.replace(/:\d+$/, "") : value}\n`;
    })
    .join("");
  const canonicalRequest = [
    call.method,
    call.path,
    call.query,
    canonicalHeaders,
    signedHeaderList,
    sha256Hex(call.body),
  ].join("\n");
  const scope = `${date}/${service}/tc3_request`;
  const stringToSign = [ALGORITHM, timestampText, scope, sha256Hex(canonicalRequest)].join("\n");
  const signingKey = hmac(
    hmac(hmac(`TC3${credentials.secretKey}`, date ?? ""), service ?? ""),
    "tc3_request",
  );
  const expected = Buffer.from(hmac(signingKey, stringToSign).toString("hex"));
  const given = Buffer.from(signature ?? "");
  // A scope dated another day than the timestamp is refused even when its signature adds up.
  if (date !== utcDate(timestampS) || !timingSafeEqual(expected, given)) {
    throw new TencentError(
      "AuthFailure.SignatureFailure",
      "The provided credentials could not be validated. Please check your signature is correct.",
    );
  }
}

function stringArray(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((item) => typeof item === "string")
    ? (value as string[])
    : undefined;
}

interface SendStatus {
  SerialNo: string;
  PhoneNumber: string;
  Fee: number;
  SessionContext: string;
  Code: string;
  Message: string;
  IsoCode: string;
}

/**
 * Tencent Cloud SMS `SendSms` (API v3, version 2021-01-11): the signature, the action and version
 * headers, the application id, then one SendStatus per number. Per-number refusals are not request
 * errors: they come back in SendStatusSet with their own Code, as Tencent answers them.
 */
export function tencentSmsApi(state: SandboxState, credentials: SmsCredentials) {
  function sendSms(call: TencentCall): { statuses: SendStatus[] } {
    const params = parseJson(call.body.toString("utf8"));
    if (typeof params !== "object" || params === null || Array.isArray(params)) {
      throw new TencentError("FailedOperation.JsonParseFail", "Failed to parse the request body.");
    }
    const request = params as Record<string, unknown>;
    if (request.SmsSdkAppId === undefined) throw missing("SmsSdkAppId");
    if (request.SmsSdkAppId !== credentials.sdkAppId) {
      throw new TencentError("InvalidParameterValue.SdkAppIdNotExist", "SdkAppId not exist.");
    }
    const phones = stringArray(request.PhoneNumberSet);
    if (phones === undefined || phones.length === 0) {
      throw new TencentError("MissingParameter.EmptyPhoneNumberSet", "PhoneNumberSet is empty.");
    }
    if (phones.length > MAX_NUMBERS_PER_REQUEST) {
      throw new TencentError(
        "LimitExceeded.PhoneNumberCountLimit",
        `PhoneNumberSet holds more than ${MAX_NUMBERS_PER_REQUEST} numbers.`,
      );
    }
    const templateId = request.TemplateId;
    if (typeof templateId !== "string" || templateId === "") throw missing("TemplateId");
    const templateParams = stringArray(request.TemplateParamSet ?? []);
    if (templateParams === undefined) {
      throw new TencentError("InvalidParameter", "TemplateParamSet must be an array of strings.");
    }
    const sessionContext = typeof request.SessionContext === "string" ? request.SessionContext : "";
    const statuses = phones.map((phone): SendStatus => {
      const base = {
        PhoneNumber: phone,
        SessionContext: sessionContext,
        IsoCode: phone.startsWith("+86") ? "CN" : "DEF",
      };
      if (!E164.test(phone)) {
        return {
          ...base,
          SerialNo: "",
          Fee: 0,
          Code: "InvalidParameterValue.IncorrectPhoneNumber",
          Message: "incorrect phone number format",
        };
      }
      if (phone.startsWith(SANDBOX_SMS_DAILY_LIMIT_PREFIX)) {
        return {
          ...base,
          SerialNo: "",
          Fee: 0,
          Code: "LimitExceeded.PhoneNumberDailyLimit",
          Message:
            "the number of sms messages sent from a single mobile number every day exceeds " +
            "the upper limit",
        };
      }
      state.recordSms({ phone, templateId, params: templateParams, sentAtMs: state.now() });
      return {
        ...base,
        SerialNo: `2640:${randomInt(10 ** 9, 10 ** 10)}${randomInt(10 ** 9, 10 ** 10)}`,
        Fee: 1,
        Code: "Ok",
        Message: "send success",
      };
    });
    return { statuses };
  }

  return {
    handle(call: TencentCall): TencentAnswer {
      const requestId = randomUUID();
      try {
        const action = header(call.headers, "x-tc-action");
        if (action === undefined) throw missing("X-TC-Action");
        if (action !== SEND_SMS_ACTION) {
          throw new TencentError("InvalidAction", `The action \`${action}\` does not exist.`);
        }
        const version = header(call.headers, "x-tc-version");
        if (version === undefined) throw missing("X-TC-Version");
        if (version !== SMS_API_VERSION) {
          throw new TencentError(
            "NoSuchVersion",
            `The requested version \`${version}\` of API \`${action}\` does not exist.`,
          );
        }
        if (call.method !== "POST") {
          throw new TencentError("UnsupportedProtocol", "SendSms takes POST with a JSON body.");
        }
        if (header(call.headers, "x-tc-region") === undefined) throw missing("X-TC-Region");
        verifySignature(call, credentials, state.now());
        const { statuses } = sendSms(call);
        return {
          body: { Response: { SendStatusSet: statuses, RequestId: requestId } },
          summary: `sms=${statuses.map((s) => `${maskPhone(s.PhoneNumber)}:${s.Code}`).join(",")}`,
        };
      } catch (error) {
        if (!(error instanceof TencentError)) throw error;
        return {
          body: {
            Response: { Error: { Code: error.code, Message: error.message }, RequestId: requestId },
          },
          summary: `error=${error.code}`,
        };
      }
    },
  };
}

/** Tencent's answer to a body over the size limit, which never reaches the API's checks. */
export function requestTooLarge(): TencentAnswer {
  return {
    body: {
      Response: {
        Error: { Code: "RequestSizeLimitExceeded", Message: "The request body is too large." },
        RequestId: randomUUID(),
      },
    },
    summary: "error=RequestSizeLimitExceeded",
  };
}
