import type { SandboxApi, SandboxApp } from "@wxauth/contracts/sandbox";
import { originalIdOf, type SandboxApps } from "./apps.js";
import { REPLACED_TOKEN_GRACE_MS } from "./constants.js";
import { newRid, wechatError } from "./errcodes.js";
import { JSON_TYPE, TEXT_TYPE, parseJson } from "./http.js";
import type { Pusher } from "./pusher.js";
import type { MediaVerdict, SandboxState } from "./state.js";

export interface WechatApiOptions {
  /** How long after media_check_async its verdict is pushed. */
  mediaCheckDelayMs: number;
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

/**
 * The app whose appid and secret these are, or the errcode for a wrong or missing
 * grant_type/appid/secret, in the order WeChat checks them.
 */
function authenticate(
  params: Params,
  grantType: string,
  apps: SandboxApps,
): { app: SandboxApp } | { errcode: number } {
  if (params.appid === undefined || params.appid === "") return { errcode: 41002 };
  const app = typeof params.appid === "string" ? apps.get(params.appid) : undefined;
  if (app === undefined) return { errcode: 40013 };
  if (params.secret === undefined || params.secret === "") return { errcode: 41004 };
  if (params.secret !== app.secret) return { errcode: 40125 };
  if (params.grant_type !== grantType) return { errcode: 40002 };
  return { app };
}

/** What msg_sec_check finds in a text: `违规` is risky, `待审` needs review, anything else passes. */
function textVerdict(text: string): MediaVerdict & { keyword?: string } {
  if (text.includes("违规")) return { suggest: "risky", label: 20006, keyword: "违规" };
  if (text.includes("待审")) return { suggest: "review", label: 21000, keyword: "待审" };
  return { suggest: "pass", label: 100 };
}

/** The label a media verdict set without one carries. */
const DEFAULT_MEDIA_LABEL = { pass: 100, review: 21000, risky: 20002 } as const;

/** WeChat's content-check scenes: 1 profile, 2 comment, 3 forum, 4 social log. */
const SCENES: ReadonlySet<unknown> = new Set([1, 2, 3, 4]);
/** msg_sec_check's documented limit on `content`, in characters. */
const MAX_CONTENT_CHARS = 2500;

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
  apps: SandboxApps,
  pusher: Pusher,
  options: WechatApiOptions,
): ReadonlyMap<string, WechatRoute> {
  const fail = (errcode: number): object => wechatError(errcode, state.now());

  /** The app of the call's access token, or WeChat's error for the token. */
  function appOfToken(query: URLSearchParams): { app: SandboxApp } | { errcode: number } {
    const accessToken = query.get("access_token");
    if (accessToken === null || accessToken === "") return { errcode: 41001 };
    const owner = state.checkAccessToken(accessToken);
    if (!owner.ok) return { errcode: owner.errcode };
    const app = apps.get(owner.value);
    return app === undefined ? { errcode: 40001 } : { app };
  }

  /**
   * The errcode for a content check's `version`, `scene` and `openid`, as WeChat answers them: only
   * version 2 is served, and an openid the sandbox issued in other apps only is 43104.
   */
  function contentCheckError(params: Params, app: SandboxApp): number | undefined {
    if (params.version !== 2) return 47001;
    if (params.openid === undefined || params.openid === "") return 44002;
    if (typeof params.openid !== "string") return 47001;
    if (!SCENES.has(params.scene)) return 40129;
    const issuedIn = state.appsOfOpenid(params.openid);
    if (issuedIn.length > 0 && !issuedIn.includes(app.appid)) return 43104;
    return undefined;
  }

  const jscode2session: WechatRoute = {
    api: "jscode2session",
    method: "GET",
    contentType: TEXT_TYPE,
    handle({ query }) {
      const params = queryParams(query);
      const caller = authenticate(params, "authorization_code", apps);
      if ("errcode" in caller) return fail(caller.errcode);
      const code = params.js_code;
      if (typeof code !== "string" || code === "") return fail(41008);
      const outcome = state.redeemLoginCode(code, caller.app.appid);
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
      const caller = authenticate(params, "client_credential", apps);
      if ("errcode" in caller) return fail(caller.errcode);
      return state.issueAccessToken(
        caller.app.appid,
        "stable_token",
        params.force_refresh === true,
        0,
      );
    },
  };

  const token: WechatRoute = {
    api: "token",
    method: "GET",
    contentType: JSON_TYPE,
    handle({ query }) {
      const caller = authenticate(queryParams(query), "client_credential", apps);
      if ("errcode" in caller) return fail(caller.errcode);
      return state.issueAccessToken(caller.app.appid, "token", true, REPLACED_TOKEN_GRACE_MS);
    },
  };

  const getuserphonenumber: WechatRoute = {
    api: "getuserphonenumber",
    method: "POST",
    contentType: JSON_TYPE,
    handle({ query, body }) {
      const caller = appOfToken(query);
      if ("errcode" in caller) return fail(caller.errcode);
      const params = jsonObjectBody(body);
      if (params === undefined) return fail(47001);
      const { code, openid } = params;
      if (typeof code !== "string" || code === "") return fail(41008);
      if (openid !== undefined && typeof openid !== "string") return fail(47001);
      const outcome = state.redeemPhoneCode(code, caller.app.appid, openid);
      if (!outcome.ok) return fail(outcome.errcode);
      const { mintedAtMs, ...phone } = outcome.value;
      return {
        errcode: 0,
        errmsg: "ok",
        phone_info: {
          ...phone,
          watermark: { timestamp: Math.floor(mintedAtMs / 1000), appid: caller.app.appid },
        },
      };
    },
  };

  const msgSecCheck: WechatRoute = {
    api: "msg_sec_check",
    method: "POST",
    contentType: JSON_TYPE,
    handle({ query, body }) {
      const caller = appOfToken(query);
      if ("errcode" in caller) return fail(caller.errcode);
      const params = jsonObjectBody(body);
      if (params === undefined) return fail(47001);
      const invalid = contentCheckError(params, caller.app);
      if (invalid !== undefined) return fail(invalid);
      const { content } = params;
      if (content === undefined || content === "") return fail(44002);
      if (typeof content !== "string" || [...content].length > MAX_CONTENT_CHARS)
        return fail(47001);
      const texts = [content, params.nickname, params.title, params.signature];
      const verdict = textVerdict(texts.filter((text) => typeof text === "string").join("\n"));
      const { suggest, label } = verdict;
      return {
        errcode: 0,
        errmsg: "ok",
        result: { suggest, label },
        detail: [
          { strategy: "content_model", errcode: 0, suggest, label, prob: 90 },
          verdict.keyword === undefined
            ? { strategy: "keyword", errcode: 0 }
            : {
                strategy: "keyword",
                errcode: 0,
                suggest,
                label,
                level: 90,
                keyword: verdict.keyword,
              },
        ],
        trace_id: newRid(state.now()),
      };
    },
  };

  const mediaCheckAsync: WechatRoute = {
    api: "media_check_async",
    method: "POST",
    contentType: JSON_TYPE,
    handle({ query, body }) {
      const caller = appOfToken(query);
      if ("errcode" in caller) return fail(caller.errcode);
      const params = jsonObjectBody(body);
      if (params === undefined) return fail(47001);
      const invalid = contentCheckError(params, caller.app);
      if (invalid !== undefined) return fail(invalid);
      const { media_url: mediaUrl, media_type: mediaType, openid } = params;
      if (mediaUrl === undefined || mediaUrl === "") return fail(44002);
      if (typeof mediaUrl !== "string" || !URL.canParse(mediaUrl)) return fail(47001);
      if (mediaType !== 1 && mediaType !== 2) return fail(47001);
      const app = caller.app;
      const traceId = newRid(state.now());
      const set = state.takeMediaVerdict(app.appid);
      const suggest = set?.suggest ?? "pass";
      // WeChat's pushes carry label as a string of digits (its replies, as a number).
      const label = String(set?.label ?? DEFAULT_MEDIA_LABEL[suggest]);
      pusher.later(options.mediaCheckDelayMs, () => {
        // Push settings may change in the meantime; WeChat pushes with the configuration of then.
        const current = apps.get(app.appid) ?? app;
        return pusher.push(current, {
          ToUserName: originalIdOf(app.appid),
          FromUserName: openid,
          CreateTime: Math.floor(state.now() / 1000),
          MsgType: "event",
          Event: "wxa_media_check",
          appid: app.appid,
          trace_id: traceId,
          version: 2,
          detail: [{ strategy: "content_model", errcode: 0, suggest, label, prob: 90 }],
          errcode: 0,
          errmsg: "ok",
          result: { suggest, label },
        });
      });
      return { errcode: 0, errmsg: "ok", trace_id: traceId };
    },
  };

  return new Map([
    ["/sns/jscode2session", jscode2session],
    ["/cgi-bin/stable_token", stableToken],
    ["/cgi-bin/token", token],
    ["/wxa/business/getuserphonenumber", getuserphonenumber],
    ["/wxa/msg_sec_check", msgSecCheck],
    ["/wxa/media_check_async", mediaCheckAsync],
  ]);
}
