import { maskPhone } from "@wxauth/contracts";
import { pino, type DestinationStream, type Logger } from "pino";
import type { RequestHandler } from "express";

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

declare module "http" {
  interface IncomingMessage {
    /** Set by request-id.ts. */
    id: string;
    /** This request's logger (bound to its id), made on first use. */
    log: Logger;
  }
  interface ServerResponse {
    /** A 5xx's cause, written into the request's log line (error-handler.ts sets it). */
    err?: Error;
  }
}

/**
 * One JSON line per request when it ends: `reqId`, `req` (id, method, path without the query
 * string, client address), `res` (status) and `responseTime`, as pino-http wrote them. Headers
 * and bodies carry codes and tokens, so they are left out.
 *
 * pino-http made two child loggers per request, serialising and redacting the request up front
 * even when the line was never written (LOG_LEVEL=warn): about 0.45 ms of CPU per request here,
 * more than a third of GET /api/me (docs/benchmarks.md). Here the line is built only when its
 * level is enabled, and `req.log` only when someone logs through it.
 */
export function httpLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const startedAt = Date.now();
    let requestLogger: Logger | undefined;
    Object.defineProperty(req, "log", {
      configurable: true,
      get: () => (requestLogger ??= logger.child({ reqId: req.id })),
    });

    const onEnd = (error?: Error) => {
      res.off("close", onEnd);
      res.off("finish", onEnd);
      res.off("error", onEnd);
      // A client error is the client's business; server errors need someone.
      const failure =
        error ??
        res.err ??
        (res.statusCode >= 500
          ? new Error(`failed with status code ${res.statusCode}`)
          : undefined);
      const level = failure ? "error" : "info";
      if (!logger.isLevelEnabled(level)) return;
      const line = {
        reqId: req.id,
        req: {
          id: req.id,
          method: req.method,
          path: (req.originalUrl ?? req.url ?? "").split("?")[0],
          remoteAddress: req.socket?.remoteAddress,
        },
        res: { statusCode: res.statusCode },
        responseTime: Date.now() - startedAt,
      };
      if (failure) logger.error({ ...line, err: failure }, "request errored");
      else logger.info(line, "request completed");
    };
    res.on("close", onEnd);
    res.on("finish", onEnd);
    res.on("error", onEnd);
    next();
  };
}
