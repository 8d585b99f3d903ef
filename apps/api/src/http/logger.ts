import { maskPhone } from "@wxauth/contracts";
import { pino, type DestinationStream, type Logger } from "pino";
import type { RequestHandler } from "express";

/**
 * Keys whose values are credentials: never written to a log, at any depth we log. Exact keys, so
 * that `code` stays readable where it is an error's (a SQLSTATE, `ECONNREFUSED`, the API's own
 * codes): the one credential under `code`, the login code, only travels in a request body, and
 * `body` is redacted whole.
 */
const SECRET_KEYS = [
  "authorization",
  "cookie",
  "body",
  "loginCode",
  "phoneCode",
  "smsCode",
  "js_code",
  "refreshToken",
  "accessToken",
  "access_token",
  "registrationTicket",
  "token",
  "sessionKey",
  "session_key",
  "wechatSessionKey",
  "secret",
  "password",
];
/** Keys whose values are phone numbers: logged masked (138****8000), never in clear. */
const PHONE_KEYS = new Set(["phone", "phoneNumber", "purePhoneNumber", "e164"]);

const redactPaths = [
  "req.headers.authorization",
  "req.headers.cookie",
  'res.headers["set-cookie"]',
  ...[...SECRET_KEYS, ...PHONE_KEYS].flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
];

function censor(value: unknown, path: string[]): unknown {
  const key = path[path.length - 1] ?? "";
  if (PHONE_KEYS.has(key) && typeof value === "string") return maskPhone(value);
  return "[Redacted]";
}

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: { paths: redactPaths, censor },
      base: { service: "wxauth-api" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

declare module "http" {
  interface IncomingMessage {
    /** From request-id.ts. */
    id: string;
    /** The request's logger, bound to its id (httpLogger). */
    log: Logger;
  }
  interface ServerResponse {
    /** What a 5xx answer failed on (error-handler.ts), for the request's log line. */
    err?: Error;
  }
}

/**
 * One JSON line per request when it ends: `reqId`, `req` (id, method, path without the query
 * string, client address as `trust proxy` resolves it, like the rate limits), `res` (status),
 * `responseTime` and, for a 5xx, `err`. Headers and
 * bodies carry codes and tokens, so they are left out. `req.id` comes from request-id.ts; `req.log`
 * is the request's logger, bound to it.
 *
 * Not pino-http: it builds a second child logger per request with the request serialized into it,
 * through the redaction paths, whether or not the line is ever written. Here the line is built
 * only when its level is enabled. That holds GET /api/me to its guard of 0.30 x Express hello
 * (`BENCH_ONLY=me pnpm bench`, three runs each, 2026-12-07): with pino-http 0.233-0.271 ms of CPU
 * per request and 0.26-0.32 of hello, missed in two runs; with this, 0.203-0.213 ms and 0.32-0.40.
 */
export function httpLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const startedAt = performance.now();
    const log = logger.child({ reqId: req.id });
    req.log = log;
    res.once("close", () => {
      // A client error (or a client gone before its answer) is the client's business; server
      // errors need someone.
      const failed = res.statusCode >= 500;
      const level = failed ? "error" : "info";
      if (!log.isLevelEnabled(level)) return;
      const outcome = !res.writableFinished ? "aborted" : failed ? "errored" : "completed";
      log[level](
        {
          req: {
            id: req.id,
            method: req.method,
            path: req.originalUrl.split("?")[0],
            remoteAddress: req.ip,
          },
          res: { statusCode: res.statusCode },
          ...(res.err ? { err: res.err } : {}),
          responseTime: Math.round(performance.now() - startedAt),
        },
        `request ${outcome}`,
      );
    });
    next();
  };
}
