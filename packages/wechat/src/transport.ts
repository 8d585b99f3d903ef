import type { Dispatcher } from "undici";
import type { z } from "zod";
import { type CallBudget, sleepWithin, withJitter } from "./budget.js";
import {
  ERRCODE_NONE,
  ERRCODE_SYSTEM_BUSY,
  WechatApiError,
  errorFromErrcode,
  isDefinitiveCodeErrcode,
} from "./errors.js";
import { MAX_REPLY_BYTES, ReplyTooLargeError, httpExchange } from "./http-exchange.js";
import type { WechatApiName, WechatLogger } from "./types.js";

export interface WechatRequest {
  api: WechatApiName;
  method: "GET" | "POST";
  url: string;
  /** JSON text for POST requests. */
  body?: string;
}

export interface TransportOptions {
  /** The dispatcher every request goes through, looked up per request. */
  dispatcher: () => Dispatcher;
  logger: WechatLogger;
  /** Extra attempts a transient failure gets. */
  retries: number;
  /** Redacted from any errmsg WeChat sends back, in case it ever echoes one. */
  secret: string;
}

const BACKOFF_BASE_MS = 50;
/** Below this much budget, another attempt would only turn a clear error into a timeout. */
const MIN_ATTEMPT_MS = 50;

type AttemptResult<T> =
  { ok: true; value: T } | { ok: false; error: WechatApiError; transient: boolean };

/**
 * One HTTP exchange with WeChat, with retries of transient failures (errcode -1, network errors,
 * HTTP 5xx, unparsable bodies) inside the call's budget. WeChat replies are parsed as JSON whatever
 * their content type: jscode2session answers `text/plain`.
 */
export class WechatTransport {
  constructor(private readonly options: TransportOptions) {}

  async call<T>(
    request: WechatRequest,
    schema: z.ZodType<T>,
    budget: CallBudget,
    sensitive: readonly string[],
  ): Promise<T> {
    const { logger, retries } = this.options;
    for (let attempt = 0; ; attempt++) {
      const startedAt = performance.now();
      const result = await this.attempt(request, schema, budget, sensitive);
      const durationMs = Math.round(performance.now() - startedAt);
      if (result.ok) {
        logger.debug({ api: request.api, attempt, durationMs }, "wechat call ok");
        return result.value;
      }
      const { error, transient } = result;
      const fields = {
        api: request.api,
        kind: error.kind,
        errcode: error.errcode,
        rid: error.rid,
        attempt,
        durationMs,
      };
      if (error.kind === "config") {
        logger.error(
          fields,
          "WeChat rejected this client's configuration (appid, secret, IP whitelist or quota); not retrying",
        );
        throw error;
      }
      // A bad or used login code is the user's doing, and common under abuse: not worth a warning.
      if (error.kind === "wechat" && isDefinitiveCodeErrcode(error.errcode)) {
        logger.debug(fields, "wechat rejected the code");
      } else {
        logger.warn(fields, "wechat call failed");
      }
      if (!transient || attempt >= retries) throw error;
      const delayMs = withJitter(BACKOFF_BASE_MS * 2 ** attempt);
      if (budget.remainingMs() < delayMs + MIN_ATTEMPT_MS) throw error;
      await sleepWithin(delayMs, budget);
    }
  }

  private async attempt<T>(
    request: WechatRequest,
    schema: z.ZodType<T>,
    budget: CallBudget,
    sensitive: readonly string[],
  ): Promise<AttemptResult<T>> {
    const { api } = request;
    let status: number;
    let text: string;
    try {
      ({ status, text } = await httpExchange(request, this.options.dispatcher(), budget.signal));
    } catch (cause) {
      if (budget.aborted) return { ok: false, error: budget.timeoutError(), transient: false };
      if (cause instanceof ReplyTooLargeError) {
        const error = new WechatApiError({
          api,
          kind: "parse",
          errcode: ERRCODE_NONE,
          errmsg: `unparsable reply (over ${MAX_REPLY_BYTES} bytes, not read)`,
          retryable: true,
        });
        return { ok: false, error, transient: true };
      }
      return { ok: false, error: networkError(api, cause), transient: true };
    }

    if (status < 200 || status > 299) {
      const transient = status >= 500;
      const error = new WechatApiError({
        api,
        kind: "http",
        errcode: ERRCODE_NONE,
        errmsg: `HTTP ${status}`,
        retryable: transient || status === 429,
      });
      return { ok: false, error, transient };
    }

    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // No `cause`: JSON.parse's message quotes the body, which may hold a session_key.
      const error = new WechatApiError({
        api,
        kind: "parse",
        errcode: ERRCODE_NONE,
        errmsg: `unparsable reply (${text.length} characters, not JSON)`,
        retryable: true,
      });
      return { ok: false, error, transient: true };
    }

    const errcode = (body as { errcode?: unknown } | null)?.errcode;
    if (typeof errcode === "number" && errcode !== 0) {
      const rawErrmsg = (body as { errmsg?: unknown }).errmsg;
      const errmsg = redact(typeof rawErrmsg === "string" ? rawErrmsg : "", [
        this.options.secret,
        ...sensitive,
      ]);
      const error = errorFromErrcode(api, errcode, errmsg);
      return { ok: false, error, transient: errcode === ERRCODE_SYSTEM_BUSY };
    }

    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      // Well-formed JSON of the wrong shape is not a hiccup: another try gets the same answer.
      const paths = parsed.error.issues.map((issue) => issue.path.join(".") || "(root)").join(", ");
      const error = new WechatApiError({
        api,
        kind: "parse",
        errcode: ERRCODE_NONE,
        errmsg: `unexpected reply shape at ${paths}`,
        retryable: false,
      });
      return { ok: false, error, transient: false };
    }
    return { ok: true, value: parsed.data };
  }
}

/**
 * Names the failure by its error code only (ECONNREFUSED, ECONNRESET, ENOTFOUND, a TLS code), and
 * keeps no `cause`: a connection error must never get a chance to quote the request URL, whose
 * query holds the secret and the login code.
 */
function networkError(api: WechatApiName, cause: unknown): WechatApiError {
  const code = (cause as { code?: unknown } | null)?.code;
  const name = cause instanceof Error ? cause.name : "Error";
  return new WechatApiError({
    api,
    kind: "network",
    errcode: ERRCODE_NONE,
    errmsg: `network error: ${typeof code === "string" ? code : name}`,
    retryable: true,
  });
}

function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length > 0 && result.includes(secret))
      result = result.split(secret).join("[redacted]");
  }
  return result;
}
