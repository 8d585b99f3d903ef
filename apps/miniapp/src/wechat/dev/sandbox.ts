import {
  SandboxLoginCodeResponseSchema,
  SandboxPhoneCodeResponseSchema,
  SandboxSmsMessagesSchema,
  sandboxRoutes,
  type SandboxLoginCodeRequest,
  type SandboxPhoneCodeRequest,
} from "@wxauth/contracts/sandbox";
import type * as z from "zod/mini";
import { TransportError } from "../../http/errors";
import { currentAppid } from "../app-id";

// The H5 stand-in for WeChat: only ever compiled into the H5 build.
const SANDBOX_URL = (import.meta.env.VITE_WECHAT_SANDBOX_URL || "http://localhost:3100").replace(
  /\/+$/,
  "",
);
const TEST_OPENID_KEY = "wxauth.dev.openid";

async function postToSandbox<S extends z.ZodMiniType>(
  path: string,
  body: unknown,
  schema: S,
): Promise<z.output<S>> {
  let response: Response;
  try {
    response = await fetch(SANDBOX_URL + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (error) {
    throw new TransportError("network", `WeChat sandbox at ${SANDBOX_URL}: ${String(error)}`);
  }
  const parsed = schema.safeParse(await response.json().catch(() => undefined));
  if (!response.ok || !parsed.success) {
    throw new TransportError("invalid_response", `WeChat sandbox ${path}: HTTP ${response.status}`);
  }
  return parsed.data;
}

/** This browser's test user: the first code mints an openid, later codes reuse it. */
function testOpenid(): string | undefined {
  return localStorage.getItem(TEST_OPENID_KEY) ?? undefined;
}

export async function sandboxLoginCode(): Promise<string> {
  const openid = testOpenid();
  // Minted for the app the login names, as WeChat's wx.login code is the running app's.
  const request: SandboxLoginCodeRequest = { appid: currentAppid(), ...(openid ? { openid } : {}) };
  const { code, openid: minted } = await postToSandbox(
    sandboxRoutes.loginCode,
    request,
    SandboxLoginCodeResponseSchema,
  );
  localStorage.setItem(TEST_OPENID_KEY, minted);
  return code;
}

export async function sandboxPhoneCode(phoneNumber: string): Promise<string> {
  const openid = testOpenid();
  const request: SandboxPhoneCodeRequest = {
    phoneNumber,
    appid: currentAppid(),
    ...(openid ? { openid } : {}),
  };
  const { code } = await postToSandbox(
    sandboxRoutes.phoneCode,
    request,
    SandboxPhoneCodeResponseSchema,
  );
  return code;
}

/**
 * The code of the newest SMS the sandbox accepted for `phone` (E.164), or undefined when there is
 * none or no sandbox answers: the API may be talking to real Tencent Cloud SMS.
 */
export async function sandboxSmsCode(phone: string): Promise<string | undefined> {
  try {
    const url = `${SANDBOX_URL}${sandboxRoutes.sms}?phone=${encodeURIComponent(phone)}`;
    const response = await fetch(url);
    const parsed = SandboxSmsMessagesSchema.safeParse(await response.json());
    return parsed.success ? parsed.data.messages[0]?.params[0] : undefined;
  } catch {
    return undefined;
  }
}
