import { METHOD_OVERRIDE_HEADER } from "@wxauth/contracts";
import type { RequestHandler } from "express";

/**
 * Routes `POST` + `X-HTTP-Method-Override: PATCH` as PATCH, because wx.request has no PATCH.
 * Only that one pair is honoured: a header can never turn a request into a GET (which would
 * skip a body) or into anything a route does not already accept as PATCH.
 */
export const methodOverride: RequestHandler = (req, _res, next) => {
  if (req.method === "POST" && req.get(METHOD_OVERRIDE_HEADER)?.trim().toUpperCase() === "PATCH") {
    req.method = "PATCH";
  }
  next();
};
