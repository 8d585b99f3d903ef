import type { SandboxApi } from "@wxauth/contracts/sandbox";
import { REPLACED_TOKEN_GRACE_MS } from "./constants.js";
import { wechatError } from "./errcodes.js";
import { JSON_TYPE, TEXT_TYPE, parseJson } from "./http.js";
import type { SandboxState } from "./state.js";

export interface Credentials {
  appid: string;
  secret: string;
}

export interface WechatCall {
  query: URLSearchParams;
  /** The raw request body; empty for GET. */
  body: string;
}

export interface WechatRoute {
  api: SandboxApi;
  method: "GET" | "POST";
  contentType: string;
  handle(call: WechatCall): object;
}

type Params = Readonly<Record<string, unknown>>;

/** The errcode for a wrong or missing grant_type/appid/secret, in the order WeChat checks them. */
function credentialError(
  params: Params,
  grantType: string,
  credentials: Credentials,
): number | undefined {
  if (params.appid === undefined || params.appid === "") return 41002;
  if (params.appid !== credentials.appid) return 40013;
  if (params.secret === undefined || params.secret === "") return 41004;
  if (params.secret !== credentials.secret) return 40125;
  if (params.grant_type !== grantType) return 40002;
  return undefined;
}

function queryParams(query: URLSearchParams): Params {
  return Object.fromEntries(query);
}

/** A JSON object body, or undefined when WeChat would answer 47001 (data format error). */
function jsonObjectBody(body: string): Params | undefined {
  const parsed = parseJson(body);
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Params)
    : undefined;
}

export function wechatRoutes(
  state: SandboxState,
  credentials: Credentials,
): ReadonlyMap<string, WechatRoute> {
  const fail = (errcode: number): object => wechatError(errcode, state.now());

  const jscode2session: WechatRoute = {
    api: "jscode2session",
    method: "GET",
    contentType: TEXT_TYPE,
    handle({ query }) {
      const params = queryParams(query);
      const invalid = credentialError(params, "authorization_code", credentials);
      if (invalid !== undefined) return fail(invalid);
      const code = params.js_code;
      if (typeof code !== "string" || code === "") return fail(41008);
      const outcome = state.redeemLoginCode(code);
      return outcome.ok ? outcome.value : fail(outcome.errcode);
    },
  };

  const stableToken: WechatRoute = {
    api: "stable_token",
    method: "POST",
    contentType: JSON_TYPE,
    handle({ body }) {
      const params = jsonObjectBody(body);
      if (params === undefined) return fail(47001);
      const invalid = credentialError(params, "client_credential", credentials);
      if (invalid !== undefined) return fail(invalid);
      return state.issueAccessToken("stable_token", params.force_refresh === true, 0);
    },
  };

  const token: WechatRoute = {
    api: "token",
    method: "GET",
    contentType: JSON_TYPE,
    handle({ query }) {
      const invalid = credentialError(queryParams(query), "client_credential", credentials);
      if (invalid !== undefined) return fail(invalid);
      return state.issueAccessToken("token", true, REPLACED_TOKEN_GRACE_MS);
    },
  };

  const getuserphonenumber: WechatRoute = {
    api: "getuserphonenumber",
    method: "POST",
    contentType: JSON_TYPE,
    handle({ query, body }) {
      const accessToken = query.get("access_token");
      if (accessToken === null || accessToken === "") return fail(41001);
      const tokenError = state.checkAccessToken(accessToken);
      if (tokenError !== 0) return fail(tokenError);
      const params = jsonObjectBody(body);
      if (params === undefined) return fail(47001);
      const { code, openid } = params;
      if (typeof code !== "string" || code === "") return fail(41008);
      if (openid !== undefined && typeof openid !== "string") return fail(47001);
      const outcome = state.redeemPhoneCode(code, openid);
      if (!outcome.ok) return fail(outcome.errcode);
      const { mintedAtMs, ...phone } = outcome.value;
      return {
        errcode: 0,
        errmsg: "ok",
        phone_info: {
          ...phone,
          watermark: { timestamp: Math.floor(mintedAtMs / 1000), appid: credentials.appid },
        },
      };
    },
  };

  return new Map([
    ["/sns/jscode2session", jscode2session],
    ["/cgi-bin/stable_token", stableToken],
    ["/cgi-bin/token", token],
    ["/wxa/business/getuserphonenumber", getuserphonenumber],
  ]);
}
