import { contract, type RouteDefinition } from "@wxauth/contracts";
import type { Request, RequestHandler, Response } from "express";
import type { Metrics } from "./metrics.js";

/** The route label of a request no route answers: raw paths would make a series per URL. */
export const UNMATCHED_ROUTE = "unmatched";

/** Contract routes as method + pattern, for requests answered before their route ran. */
const CONTRACT_ROUTES = (Object.values(contract) as RouteDefinition[]).map((route) => ({
  method: route.method,
  template: route.path,
  pattern: new RegExp(`^${route.path.replace(/:\w+/g, "[^/]+")}/?$`),
}));

/**
 * The route template: Express's matched route, or, for a request answered before any route ran
 * (a rate limit, an unreadable body), the contract route its method and path name.
 */
function routeTemplateOf(req: Request): string {
  const matched = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof matched === "string") return req.baseUrl + matched;
  if (Array.isArray(matched) && typeof matched[0] === "string") return req.baseUrl + matched[0];
  const path = (req.originalUrl ?? req.url).split("?")[0] ?? "";
  const route = CONTRACT_ROUTES.find((r) => r.method === req.method && r.pattern.test(path));
  return route?.template ?? UNMATCHED_ROUTE;
}

const LOGIN_PATH = contract.wechatLogin.path;
const REGISTER_PATH = contract.wechatRegister.path;
const REFRESH_PATH = contract.refreshSession.path;

/**
 * Counts logins, registrations and refreshes by what the client was answered: the route's result
 * (contract-route.ts) or the error's code (error-handler.ts), as they left `res.locals`.
 */
function countAuthOutcome(metrics: Metrics, path: string, req: Request, res: Response): void {
  const {
    answer,
    errorCode,
    app = "unknown",
  } = res.locals as {
    answer?: { status?: unknown };
    errorCode?: string;
    /** The configured name of the app the request concerned, once the service knew it. */
    app?: string;
  };
  if (answer === undefined && errorCode === undefined) return;
  const ok = errorCode === undefined;
  const code = errorCode ?? "unknown";
  switch (path) {
    case LOGIN_PATH: {
      const status = answer?.status;
      metrics.logins.inc({ app, result: ok && typeof status === "string" ? status : code });
      return;
    }
    case REGISTER_PATH: {
      if (!ok) return;
      const viaSms = (req.body as { smsCode?: unknown } | undefined)?.smsCode !== undefined;
      metrics.registrations.inc({ app, method: viaSms ? "sms" : "phone_button" });
      return;
    }
    case REFRESH_PATH: {
      metrics.refreshes.inc({
        result: ok ? "rotated" : code === "REFRESH_TOKEN_REUSED" ? "reuse_detected" : code,
      });
      return;
    }
  }
}

/**
 * Times and counts every request by route template, method and status, and counts logins,
 * registrations and refreshes by their answer, at the one place every request passes, so the
 * services stay free of metrics.
 */
export function metricsMiddleware(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const startedAt = performance.now();
    // Routers mounted under a prefix rewrite req.url while they run: take the path as it came.
    const path = req.path;
    res.once("close", () => {
      // A client that left before its answer was written: not a status the API chose.
      const status = res.writableFinished ? String(res.statusCode) : "aborted";
      const labels = { route: routeTemplateOf(req), method: req.method, status };
      metrics.httpRequests.inc(labels);
      metrics.httpRequestDuration.observe(labels, (performance.now() - startedAt) / 1000);
      if (req.method === "POST") countAuthOutcome(metrics, path, req, res);
    });
    next();
  };
}
