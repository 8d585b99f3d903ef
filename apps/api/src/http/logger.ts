import { maskPhone } from "@wxauth/contracts";
import { pino, type DestinationStream, type Logger } from "pino";
import type { Express, Request } from "express";

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

const REQUEST_LOGGER = Symbol("wxauth.requestLogger");

interface LoggedRequest extends Request {
  [REQUEST_LOGGER]?: Logger;
}

/**
 * One JSON line per request when it ends: `reqId`, `req` (id, method, path without the query
 * string, client address), `res` (status) and `responseTime`, as pino-http wrote them. Headers
 * and bodies carry codes and tokens, so they are left out. `req.log` is the request's logger.
 *
 * pino-http made two child loggers per request, serialising and redacting the request up front
 * even when the line was never written (LOG_LEVEL=warn): about 0.45 ms of CPU per request here,
 * more than a third of GET /api/me (docs/benchmarks.md). Here the line is built only when its
 * level is enabled, and `req.log` only when someone logs through it: a getter on the app's
 * request prototype, defined once. (Defined on each request, as it first was, it cost a login
 * 55 us with the three listeners that came with it.)
 */
export function useHttpLogger(app: Express, logger: Logger): void {
  Object.defineProperty(app.request, "log", {
    configurable: true,
    get(this: LoggedRequest) {
      return (this[REQUEST_LOGGER] ??= logger.child({ reqId: this.id }));
    },
  });

  app.use((req, res, next) => {
    const startedAt = Date.now();
    let ended = false;
    // "close" comes after "finish", and also when the client went away first.
    const onEnd = (error?: Error) => {
      if (ended) return;
      ended = true;
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
    res.on("error", onEnd);
    next();
  });
}
