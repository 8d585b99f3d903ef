import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";

/** What a caller may choose as its request id: short, and safe to echo in a header and a log. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/**
 * Gives every request an id: the caller's `X-Request-Id` when it is sane (so a trace spans the
 * load balancer, the mini program and this API), else a fresh UUID. It is echoed in the
 * `X-Request-Id` response header and in every error body.
 */
export const requestId: RequestHandler = (req, res, next) => {
  const incoming = req.headers["x-request-id"];
  const id =
    typeof incoming === "string" && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  req.id = id;
  res.setHeader("X-Request-Id", id);
  next();
};
