import type { AdminErrorBody } from "@wxauth/contracts/admin";
import { WechatApiError } from "@wxauth/wechat";
import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import type { Logger } from "pino";
import { isDatabaseUnavailable } from "../db/errors.js";
import { AppError, appErrorFromWechat } from "../errors.js";
import { IllFormedStringError } from "./json-body.js";

/** What body-parser and Express put on their own errors. */
interface HttpishError {
  type?: unknown;
  status?: unknown;
  statusCode?: unknown;
}

function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { status, statusCode } = error as HttpishError;
  const value = typeof status === "number" ? status : statusCode;
  return typeof value === "number" && value >= 400 && value < 600 ? value : undefined;
}

/** Turns any error into the contract's error, logging what the client is not told. */
export function toAppError(error: unknown, logger: Logger): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof WechatApiError) {
    if (error.kind === "config") {
      logger.error(
        { err: error, api: error.api, errcode: error.errcode, rid: error.rid },
        "WeChat rejected this deployment's configuration (appid, secret, IP whitelist or quota): operator action needed",
      );
    } else {
      logger.warn(
        { api: error.api, kind: error.kind, errcode: error.errcode, rid: error.rid },
        "WeChat call failed",
      );
    }
    return appErrorFromWechat(error);
  }
  // body-parser keeps the reviver's error and marks it a parse failure: tell the client which.
  if (error instanceof IllFormedStringError)
    return new AppError("VALIDATION_FAILED", error.message);
  const type = (error as HttpishError | null)?.type;
  if (type === "entity.parse.failed") {
    return new AppError("VALIDATION_FAILED", "The body is not valid JSON.");
  }
  const status = httpStatusOf(error);
  if (status === 413) return new AppError("PAYLOAD_TOO_LARGE");
  if (status === 404) return new AppError("NOT_FOUND");
  if (status !== undefined && status < 500) {
    // Unsupported charset or encoding, aborted or malformed request, undecodable path.
    return new AppError("VALIDATION_FAILED", "The request could not be read.");
  }
  if (isDatabaseUnavailable(error)) {
    logger.error({ err: error }, "database unavailable");
    return new AppError("SERVICE_UNAVAILABLE", undefined, { cause: error });
  }
  logger.error({ err: error }, "unexpected error");
  return new AppError("INTERNAL", undefined, { cause: error });
}

/** What an AppError is answered with, wherever it is answered from (Express, or the raw socket). */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  /** ErrorBody; on the /api/admin routes the code may also be one of the operators' own. */
  body: AdminErrorBody;
}

export function errorResponseOf(error: AppError, requestId: string): ErrorResponse {
  const headers: Record<string, string> = {};
  if (error.code === "UNAUTHORIZED") headers["WWW-Authenticate"] = 'Bearer realm="wxauth"';
  if (error.retryAfterS !== undefined) headers["Retry-After"] = String(error.retryAfterS);
  if (
    error.retryAfterS === undefined &&
    error.retryable &&
    (error.code === "SERVICE_UNAVAILABLE" || error.code === "WECHAT_UNAVAILABLE")
  ) {
    headers["Retry-After"] = "1";
  }
  const body: AdminErrorBody = {
    error: { code: error.code, message: error.message, retryable: error.retryable, requestId },
  };
  return { status: error.status, headers, body };
}

export function sendError(res: Response, error: AppError): void {
  const { status, headers, body } = errorResponseOf(error, String(res.req.id ?? ""));
  // What the client is answered, for the metrics (metrics-middleware.ts).
  res.locals.errorCode = error.code;
  // A header already set says more (the rate limiter's own Retry-After).
  for (const [name, value] of Object.entries(headers)) {
    if (!res.hasHeader(name)) res.setHeader(name, value);
  }
  res.status(status).json(body);
}

export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, next) => {
  if (res.headersSent) {
    next(error);
    return;
  }
  const appError = toAppError(error, req.log);
  // The request's log line (http/logger.ts) carries res.err.
  if (appError.status >= 500) res.err = error instanceof Error ? error : new Error(String(error));
  sendError(res, appError);
};

export const notFound: RequestHandler = (_req, _res, next) => next(new AppError("NOT_FOUND"));
