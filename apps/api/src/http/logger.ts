import { maskPhone } from "@wxauth/contracts";
import { pino, type DestinationStream, type Logger } from "pino";
import type { RequestHandler } from "express";
import { pinoHttp } from "pino-http";

/** Keys whose values are credentials: never written to a log, at any depth we log. */
const SECRET_KEYS = [
  "authorization",
  "cookie",
  "code",
  "phoneCode",
  "js_code",
  "refreshToken",
  "accessToken",
  "access_token",
  "registrationTicket",
  "token",
  "sessionKey",
  "session_key",
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

/**
 * One JSON line per request when it ends: `reqId`, `req` (id, method, path without the query
 * string, client address), `res` (status) and `responseTime`. Headers and bodies carry codes and
 * tokens, so they are left out. `req.id` comes from request-id.ts; `req.log` is the request's
 * logger, bound to it.
 */
export function httpLogger(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    quietReqLogger: true,
    // A client error is the client's business; server errors need someone.
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? "error" : "info"),
    serializers: {
      req: (req: { id: unknown; method: string; url: string; remoteAddress: string }) => ({
        id: req.id,
        method: req.method,
        path: req.url.split("?")[0],
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });
}
