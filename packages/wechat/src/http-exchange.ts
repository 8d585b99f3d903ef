import { Agent, type Dispatcher } from "undici";

/** WeChat's replies are a few hundred bytes; a reply this large is not one, and is not read. */
export const MAX_REPLY_BYTES = 1024 * 1024;

/**
 * How long an idle connection is kept for the next call (undici's default). A shorter
 * `Keep-Alive: timeout=` from the server wins, less undici's margin, which keeps a call off a
 * connection the server is about to close.
 */
const IDLE_SOCKET_MS = 4000;

const JSON_HEADERS = { "content-type": "application/json" };

export interface HttpExchangeRequest {
  method: "GET" | "POST";
  url: string;
  /** JSON text, sent as application/json. */
  body?: string;
}

export interface HttpReply {
  status: number;
  /** The body decoded as UTF-8. */
  text: string;
}

/** The reply was larger than MAX_REPLY_BYTES; the connection was closed instead of read on. */
export class ReplyTooLargeError extends Error {
  constructor() {
    super(`reply larger than ${MAX_REPLY_BYTES} bytes`);
    this.name = "ReplyTooLargeError";
  }
}

/**
 * The client's own connections: a keep-alive undici `Agent`, one pool per origin. undici's
 * `request` costs about half the CPU per call of `node:http` with a keep-alive agent (a login's
 * WeChat call, docs/benchmarks.md fix 20). Idle sockets are unref'd, so the pool never keeps a
 * process alive. undici reuses a connection one event-loop turn after its answer ended (in case
 * the server closes it after all), so a call sent in the same turn opens a second one.
 */
export function keepAliveDispatcher(): Dispatcher {
  return new Agent({ keepAliveTimeout: IDLE_SOCKET_MS, keepAliveMaxTimeout: IDLE_SOCKET_MS });
}

/** What aborts an exchange: an AbortSignal, or an EventEmitter that emits "abort" (CallBudget). */
export type ExchangeSignal = NonNullable<Dispatcher.RequestOptions["signal"]>;

/**
 * One request through `dispatcher`, its whole body read as UTF-8 text. Rejects on a connection
 * error, a connection closed before the body ended, a body over MAX_REPLY_BYTES, or `signal`
 * aborting (connect, request or body): each destroys the request, so a broken connection never
 * goes back to the pool.
 */
export async function httpExchange(
  request: HttpExchangeRequest,
  dispatcher: Dispatcher,
  signal: ExchangeSignal,
): Promise<HttpReply> {
  try {
    const url = new URL(request.url);
    const response = await dispatcher.request({
      origin: url.origin,
      path: url.pathname + url.search,
      method: request.method,
      headers: request.body === undefined ? undefined : JSON_HEADERS,
      body: request.body,
      signal,
    });
    const { body } = response;
    if (Number(response.headers["content-length"]) > MAX_REPLY_BYTES) {
      body.destroy();
      throw new ReplyTooLargeError();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_REPLY_BYTES) throw new ReplyTooLargeError();
      chunks.push(chunk);
    }
    return { status: response.statusCode, text: decodeUtf8(chunks, size) };
  } catch (error) {
    // The connection closed before the reply ended: undici's own socket error, named as the
    // reset it is (as `node:http` names it).
    throw (error as { code?: unknown } | null)?.code === "UND_ERR_SOCKET"
      ? connectionReset()
      : error;
  }
}

function decodeUtf8(chunks: Buffer[], size: number): string {
  const [first] = chunks;
  const bytes = chunks.length === 1 && first ? first : Buffer.concat(chunks, size);
  const text = bytes.toString("utf8");
  // As fetch's text() does: JSON.parse refuses a leading byte-order mark.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function connectionReset(): Error {
  return Object.assign(new Error("connection closed before the reply ended"), {
    code: "ECONNRESET",
  });
}
