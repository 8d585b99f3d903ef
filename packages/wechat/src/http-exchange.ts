import { Agent, type Dispatcher, request as undiciRequest } from "undici";

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
 * The client's own connections, which its `close()` can end: a keep-alive undici `Agent`, one
 * pool per origin. Idle sockets are unref'd, so the pool never keeps a process alive. undici reuses
 * a connection one event-loop turn after its answer ended (in case the server closes it after all),
 * so a call sent in the same turn opens a second one.
 */
export function keepAliveDispatcher(): Dispatcher {
  return new Agent({ keepAliveTimeout: IDLE_SOCKET_MS, keepAliveMaxTimeout: IDLE_SOCKET_MS });
}

/**
 * One request through `dispatcher`, its whole body read as UTF-8 text. Rejects on a connection
 * error, a connection closed before the body ended, a body over MAX_REPLY_BYTES, or `signal`
 * aborting (connect, request or body): each destroys the request, so a broken connection never
 * goes back to the pool.
 */
export async function httpExchange(
  request: HttpExchangeRequest,
  dispatcher: Dispatcher,
  signal: AbortSignal,
): Promise<HttpReply> {
  try {
    const response = await undiciRequest(request.url, {
      dispatcher,
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
    // As fetch's text() does, TextDecoder drops a leading byte-order mark, which JSON.parse refuses.
    return { status: response.statusCode, text: new TextDecoder().decode(Buffer.concat(chunks)) };
  } catch (error) {
    // The connection closed before the reply ended: undici's own socket error, named as the
    // reset it is (as `node:http` names it).
    throw (error as { code?: unknown } | null)?.code === "UND_ERR_SOCKET"
      ? connectionReset()
      : error;
  }
}

function connectionReset(): Error {
  return Object.assign(new Error("connection closed before the reply ended"), {
    code: "ECONNRESET",
  });
}
