import type { Dispatcher } from "undici";
import { z } from "zod";
import { AccessTokenManager } from "./access-token.js";
import { CallBudget } from "./budget.js";
import { CodeMemo } from "./code-memo.js";
import {
  CONTENT_CHECK_VERSION,
  ContentCheckDetailsSchema,
  ContentCheckResultSchema,
} from "./content-check.js";
import { ERRCODE_NONE, WechatApiError, isAccessTokenErrcode } from "./errors.js";
import { MemoryStore } from "./memory-store.js";
import { observeCall } from "./observer.js";
import { keepAliveDispatcher, type WechatRequest, WechatTransport } from "./transport.js";
import type {
  MediaCheckAsyncInput,
  MediaCheckAsyncResult,
  MsgSecCheckInput,
  MsgSecCheckResult,
  WechatApiName,
  WechatClientOptions,
  WechatLogger,
  WechatObserver,
  WechatPhoneNumber,
  Code2SessionResult,
} from "./types.js";

export const DEFAULT_BASE_URL = "https://api.weixin.qq.com";

const NOOP = () => {};
const SILENT_LOGGER: WechatLogger = { debug: NOOP, info: NOOP, warn: NOOP, error: NOOP };

/**
 * A lone surrogate: what String.prototype.isWellFormed (ES2024, past this project's lib) refuses.
 * Such a string has no UTF-8 form, so it can be neither put in a URL (encodeURIComponent throws a
 * URIError) nor be a code WeChat issued.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** WeChat's errcode for a code it did not issue ("invalid code"), on both code-taking APIs. */
const ERRCODE_INVALID_CODE = 40029;

/** Refuses, before any network call, a code that cannot be one WeChat issued. */
function assertWellFormedCode(api: WechatApiName, code: string): void {
  if (!LONE_SURROGATE.test(code)) return;
  // WeChat's own answer to a code it never issued, so callers treat it like any invalid code.
  throw new WechatApiError({
    api,
    kind: "wechat",
    errcode: ERRCODE_INVALID_CODE,
    errmsg: "invalid code: not well-formed UTF-16 (a lone surrogate); not sent to WeChat",
    retryable: false,
  });
}

const Code2SessionReplySchema = z.object({
  openid: z.string().min(1),
  session_key: z.string().min(1),
  unionid: z.string().min(1).optional(),
});

/** E.164: a plus, a country code not starting with 0, at most 15 digits in all. */
const E164_PATTERN = /^\+[1-9]\d{6,14}$/;

const PhoneReplySchema = z.object({
  phone_info: z
    .object({
      phoneNumber: z.string(),
      purePhoneNumber: z.string().regex(/^\d+$/),
      // WeChat documents a string; some replies carry a number.
      countryCode: z.union([z.string().regex(/^\d{1,4}$/), z.number().int().min(1).max(9999)]),
      watermark: z.object({ timestamp: z.number(), appid: z.string() }),
    })
    .refine((info) => E164_PATTERN.test(`+${info.countryCode}${info.purePhoneNumber}`), {
      message: "countryCode and purePhoneNumber do not form an E.164 number",
    }),
});

const MsgSecCheckReplySchema = z.object({
  trace_id: z.string().min(1),
  result: ContentCheckResultSchema,
  detail: ContentCheckDetailsSchema.optional(),
});

const MediaCheckAsyncReplySchema = z.object({ trace_id: z.string().min(1) });

/**
 * The WeChat server API as the login flow needs it. Every public call has one budget
 * (`timeoutMs`, retries included) and fails with a WechatApiError.
 */
export class WechatClient {
  readonly accessTokens: AccessTokenManager;
  private readonly appid: string;
  private readonly secret: string;
  private readonly timeoutMs: number;
  private readonly logger: WechatLogger;
  private readonly observer: WechatObserver | undefined;
  private readonly transport: WechatTransport;
  private readonly codeMemo: CodeMemo;
  /** Everything of the jscode2session URL but the code, built once. */
  private readonly code2SessionUrlPrefix: string;
  private readonly phoneUrlPrefix: string;
  private readonly msgSecCheckUrlPrefix: string;
  private readonly mediaCheckAsyncUrlPrefix: string;
  /**
   * The connections this client made, if the caller supplied no dispatcher: made at the first call,
   * destroyed by `close()`, and made afresh by the next call.
   */
  private ownDispatcher: Dispatcher | undefined;

  constructor(options: WechatClientOptions) {
    const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, "");
    const timeoutMs = options.timeoutMs ?? 5000;
    const store = options.store ?? new MemoryStore();
    this.appid = options.appid;
    this.secret = options.secret;
    this.timeoutMs = timeoutMs;
    this.logger = options.logger ?? SILENT_LOGGER;
    this.observer = options.observer;
    const supplied = options.dispatcher;
    this.transport = new WechatTransport({
      dispatcher: supplied ? () => supplied : () => (this.ownDispatcher ??= keepAliveDispatcher()),
      logger: this.logger,
      retries: options.retries ?? 2,
      secret: options.secret,
    });
    this.accessTokens = new AccessTokenManager({
      appid: options.appid,
      secret: options.secret,
      baseUrl,
      endpoint: options.tokenEndpoint ?? "stable_token",
      refreshAheadMs: options.tokenRefreshAheadMs ?? 300_000,
      timeoutMs,
      store,
      transport: this.transport,
      logger: this.logger,
      observer: options.observer,
      now: options.now ?? Date.now,
    });
    this.codeMemo = new CodeMemo({
      appid: options.appid,
      store,
      ttlMs: options.codeMemoTtlMs ?? 300_000,
      logger: this.logger,
    });
    const code2SessionQuery = new URLSearchParams({
      appid: options.appid,
      secret: options.secret,
      grant_type: "authorization_code",
    });
    this.code2SessionUrlPrefix = `${baseUrl}/sns/jscode2session?${code2SessionQuery}&js_code=`;
    this.phoneUrlPrefix = `${baseUrl}/wxa/business/getuserphonenumber?access_token=`;
    this.msgSecCheckUrlPrefix = `${baseUrl}/wxa/msg_sec_check?access_token=`;
    this.mediaCheckAsyncUrlPrefix = `${baseUrl}/wxa/media_check_async?access_token=`;
  }

  /**
   * Exchanges a wx.login code for the user's openid, unionid and session_key. A code submitted
   * twice reaches WeChat once; both callers get the same result.
   */
  code2Session(code: string): Promise<Code2SessionResult> {
    return observeCall(this.observer, "jscode2session", async () => {
      assertWellFormedCode("jscode2session", code);
      const budget = new CallBudget("jscode2session", this.timeoutMs);
      return this.codeMemo.exchange(code, budget, (b) => this.askCode2Session(code, b));
    });
  }

  /**
   * Exchanges a getPhoneNumber code for the phone number. `openid` is sent along so WeChat checks
   * that the code was issued to that user.
   */
  getPhoneNumber(code: string, openid: string): Promise<WechatPhoneNumber> {
    return observeCall(this.observer, "getuserphonenumber", () =>
      this.askPhoneNumber(code, openid),
    );
  }

  private async askPhoneNumber(code: string, openid: string): Promise<WechatPhoneNumber> {
    assertWellFormedCode("getuserphonenumber", code);
    const budget = new CallBudget("getuserphonenumber", this.timeoutMs);
    const body = JSON.stringify({ code, openid });
    const reply = await this.withAccessToken(budget, (token) =>
      this.askPhone(token, body, code, budget),
    );
    const info = reply.phone_info;
    if (info.watermark.appid !== this.appid) {
      this.logger.error(
        { api: "getuserphonenumber" },
        "phone number watermark names another appid; rejecting it",
      );
      throw new WechatApiError({
        api: "getuserphonenumber",
        kind: "parse",
        errcode: ERRCODE_NONE,
        errmsg: "watermark appid does not match this client's appid",
        retryable: false,
      });
    }
    const countryCode = String(info.countryCode);
    return {
      e164: `+${countryCode}${info.purePhoneNumber}`,
      purePhoneNumber: info.purePhoneNumber,
      countryCode,
    };
  }

  /**
   * Checks a text (a nickname, a comment) with WeChat's content security API, version 2:
   * `result.suggest` is `pass`, `review` or `risky`.
   */
  msgSecCheck(input: MsgSecCheckInput): Promise<MsgSecCheckResult> {
    return observeCall(this.observer, "msg_sec_check", async () => {
      const budget = new CallBudget("msg_sec_check", this.timeoutMs);
      const body = JSON.stringify({
        content: input.content,
        version: CONTENT_CHECK_VERSION,
        scene: input.scene,
        openid: input.openid,
      });
      const reply = await this.withAccessToken(budget, (token) =>
        this.transport.call(
          {
            api: "msg_sec_check",
            method: "POST",
            url: this.msgSecCheckUrlPrefix + encodeURIComponent(token),
            body,
          },
          MsgSecCheckReplySchema,
          budget,
          [token, input.openid],
        ),
      );
      return {
        suggest: reply.result.suggest,
        label: reply.result.label,
        traceId: reply.trace_id,
        detail: reply.detail ?? [],
      };
    });
  }

  /**
   * Sends an image or audio at a public URL to WeChat's asynchronous content check, version 2.
   * The verdict arrives later as a `wxa_media_check` push (see push.ts) carrying the same trace id.
   */
  mediaCheckAsync(input: MediaCheckAsyncInput): Promise<MediaCheckAsyncResult> {
    return observeCall(this.observer, "media_check_async", async () => {
      const budget = new CallBudget("media_check_async", this.timeoutMs);
      const body = JSON.stringify({
        media_url: input.mediaUrl,
        media_type: input.mediaType,
        version: CONTENT_CHECK_VERSION,
        scene: input.scene,
        openid: input.openid,
      });
      const reply = await this.withAccessToken(budget, (token) =>
        this.transport.call(
          {
            api: "media_check_async",
            method: "POST",
            url: this.mediaCheckAsyncUrlPrefix + encodeURIComponent(token),
            body,
          },
          MediaCheckAsyncReplySchema,
          budget,
          [token, input.openid],
        ),
      );
      return { traceId: reply.trace_id };
    });
  }

  /**
   * Runs `call` with this app's access token. When WeChat rejects the token (40001, 42001, 40014)
   * it is invalidated, only if still current, and `call` runs once more with a fresh one.
   */
  private async withAccessToken<T>(
    budget: CallBudget,
    call: (token: string) => Promise<T>,
  ): Promise<T> {
    const token = await this.accessTokens.get(budget);
    try {
      return await call(token);
    } catch (error) {
      if (!(error instanceof WechatApiError && isAccessTokenErrcode(error.errcode))) throw error;
      await this.accessTokens.invalidate(token);
      return call(await this.accessTokens.get(budget));
    }
  }

  /**
   * Closes the idle connections this client keeps to WeChat. Optional: they never keep the process
   * alive. A caller-supplied `dispatcher` is left alone.
   */
  close(): void {
    const own = this.ownDispatcher;
    this.ownDispatcher = undefined;
    // A call still in flight on these connections fails as a network error, as it would if
    // WeChat hung up; the promise has nothing else to report.
    own?.destroy().catch(() => undefined);
  }

  private async askCode2Session(code: string, budget: CallBudget): Promise<Code2SessionResult> {
    const request: WechatRequest = {
      api: "jscode2session",
      method: "GET",
      url: this.code2SessionUrlPrefix + encodeURIComponent(code),
    };
    const reply = await this.transport.call(request, Code2SessionReplySchema, budget, [code]);
    return { openid: reply.openid, unionid: reply.unionid ?? null, sessionKey: reply.session_key };
  }

  private askPhone(token: string, body: string, code: string, budget: CallBudget) {
    const request: WechatRequest = {
      api: "getuserphonenumber",
      method: "POST",
      url: this.phoneUrlPrefix + encodeURIComponent(token),
      body,
    };
    return this.transport.call(request, PhoneReplySchema, budget, [code, token]);
  }
}
