import { Agent as HttpAgent, type Agent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

/** WeChat's replies are a few hundred bytes; a reply this large is not one, and is not read. */
export const MAX_REPLY_BYTES = 1024 * 1024;

/**
 * How long an idle connection is kept for the next call: undici's default, so connections live as
 * long as they did under fetch. A shorter `Keep-Alive: timeout=` from the server wins (Node's Agent
 * honours it), which keeps a call off a connection the server is about to close.
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
 * A keep-alive agent for `baseUrl`'s protocol. Node unrefs idle sockets, so the pool never keeps a
 * process alive.
 */
export function keepAliveAgentFor(baseUrl: string): Agent {
  const options = { keepAlive: true, timeout: IDLE_SOCKET_MS };
  return new URL(baseUrl).protocol === "https:" ? new HttpsAgent(options) : new HttpAgent(options);
}

/**
 * One request through `agent`, its whole body read as UTF-8 text. Rejects on a connection error,
 * a connection closed before the body ended, a body over MAX_REPLY_BYTES, or `signal` aborting
 * (connect, request or body): each destroys the request, so a broken connection never goes back
 * to the pool. Settles once; nothing that happens to the request afterwards is reported.
 */
export function httpExchange(
  request: HttpExchangeRequest,
  agent: Agent,
  signal: AbortSignal,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortError());
    const url = new URL(request.url);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    let settled = false;
    const settle = () => {
      settled = true;
      signal.removeEventListener("abort", onAbort);
    };
    const fail = (error: Error) => {
      if (settled) return;
      settle();
      outgoing.destroy();
      reject(error);
    };
    const onAbort = () => fail(abortError());

    const outgoing = send(
      url,
      {
        method: request.method,
        headers: request.body === undefined ? undefined : JSON_HEADERS,
        agent,
      },
      (response) => {
        if (Number(response.headers["content-length"]) > MAX_REPLY_BYTES)
          return fail(new ReplyTooLargeError());
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) return fail(new ReplyTooLargeError());
          chunks.push(chunk);
        });
        response.on("end", () => {
          if (settled) return;
          settle();
          resolve({ status: response.statusCode ?? 0, text: decodeUtf8(chunks, size) });
        });
        // A connection lost mid-body: Node reports ECONNRESET ("aborted") as an error; a close
        // without `end` covers any other way the body can stop short.
        response.on("error", fail);
        response.on("close", () => {
          // Every reply closes; only one that had not ended is a failure (and worth an Error).
          if (!settled) fail(connectionReset());
        });
      },
    );
    outgoing.on("error", fail);
    signal.addEventListener("abort", onAbort, { once: true });
    outgoing.end(request.body);
  });
}

function decodeUtf8(chunks: Buffer[], size: number): string {
  const [first] = chunks;
  const bytes = chunks.length === 1 && first ? first : Buffer.concat(chunks, size);
  const text = bytes.toString("utf8");
  // As fetch's text() does: JSON.parse refuses a leading byte-order mark.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function abortError(): Error {
  const error = new Error("the call's budget ran out");
  error.name = "AbortError";
  return error;
}

function connectionReset(): Error {
  return Object.assign(new Error("connection closed before the reply ended"), {
    code: "ECONNRESET",
  });
}
