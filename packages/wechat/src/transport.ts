import { Agent, type Dispatcher, request as undiciRequest } from "undici";
import type { z } from "zod";
import { type CallBudget, sleepWithin, withJitter } from "./budget.js";
import {
  ERRCODE_NONE,
  ERRCODE_SYSTEM_BUSY,
  WechatApiError,
  errorFromErrcode,
  isDefinitiveCodeErrcode,
} from "./errors.js";
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

/** WeChat's replies are a few hundred bytes; a reply this large is not one, and is not read. */
export const MAX_REPLY_BYTES = 1024 * 1024;

/**
 * How long an idle connection is kept for the next call (undici's default). A shorter
 * `Keep-Alive: timeout=` from the server wins, less undici's margin, which keeps a call off a
 * connection the server is about to close.
 */
const IDLE_SOCKET_MS = 4000;

/**
 * The client's own connections, which its `close()` can end: a keep-alive undici `Agent`, one
 * pool per origin. Idle sockets are unref'd, so the pool never keeps a process alive. undici reuses
 * a connection one event-loop turn after its answer ended (in case the server closes it after all),
 * so a call sent in the same turn opens a second one.
 */
export function keepAliveDispatcher(): Dispatcher {
  return new Agent({ keepAliveTimeout: IDLE_SOCKET_MS, keepAliveMaxTimeout: IDLE_SOCKET_MS });
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
    let reply: { status: number; text: string } | "too large";
    try {
      reply = await exchange(request, this.options.dispatcher(), budget.signal);
    } catch (cause) {
      if (budget.aborted) return { ok: false, error: budget.timeoutError(), transient: false };
      return { ok: false, error: networkError(api, cause), transient: true };
    }
    if (reply === "too large") {
      const error = new WechatApiError({
        api,
        kind: "parse",
        errcode: ERRCODE_NONE,
        errmsg: `unparsable reply (over ${MAX_REPLY_BYTES} bytes, not read)`,
        retryable: true,
      });
      return { ok: false, error, transient: true };
    }
    const { status, text } = reply;

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
 * One request through `dispatcher`, its whole body read as UTF-8 text, or "too large" (unread,
 * the connection closed) past MAX_REPLY_BYTES. Rejects on a connection error, a connection closed
 * before the body ended, or `signal` aborting (connect, request or body): each destroys the
 * request, so a broken connection never goes back to the pool.
 */
async function exchange(
  request: WechatRequest,
  dispatcher: Dispatcher,
  signal: AbortSignal,
): Promise<{ status: number; text: string } | "too large"> {
  try {
    const response = await undiciRequest(request.url, {
      dispatcher,
      method: request.method,
      headers: request.body === undefined ? undefined : { "content-type": "application/json" },
      body: request.body,
      signal,
    });
    const { body } = response;
    if (Number(response.headers["content-length"]) > MAX_REPLY_BYTES) {
      body.destroy();
      return "too large";
    }
    const chunks: Buffer[] = [];
    let size = 0;
    // Leaving the loop early destroys the body, and with it the connection.
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_REPLY_BYTES) return "too large";
      chunks.push(chunk);
    }
    // As fetch's text() does, TextDecoder drops a leading byte-order mark, which JSON.parse refuses.
    return { status: response.statusCode, text: new TextDecoder().decode(Buffer.concat(chunks)) };
  } catch (error) {
    // The connection closed before the reply ended: undici's own socket error, named as the
    // reset it is (as `node:http` names it).
    if ((error as { code?: unknown } | null)?.code !== "UND_ERR_SOCKET") throw error;
    throw Object.assign(new Error("connection closed before the reply ended"), {
      code: "ECONNRESET",
    });
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
