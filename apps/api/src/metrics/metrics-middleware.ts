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

/** What the auth routes answered, as their counters label it. */
type AuthOutcome = { status?: unknown; error?: { code?: unknown } };

const LOGIN_PATH = contract.wechatLogin.path;
const REGISTER_PATH = contract.wechatRegister.path;
const REFRESH_PATH = contract.refreshSession.path;
const OUTCOME_PATHS = new Set<string>([LOGIN_PATH, REGISTER_PATH, REFRESH_PATH]);

function errorCodeOf(outcome: AuthOutcome | undefined): string {
  const code = outcome?.error?.code;
  return typeof code === "string" ? code : "unknown";
}

/** Counts logins, registrations and refreshes by what the client was answered. */
function countAuthOutcome(
  metrics: Metrics,
  path: string,
  req: Request,
  res: Response,
  body: string,
): void {
  let outcome: AuthOutcome | undefined;
  try {
    outcome = JSON.parse(body) as AuthOutcome;
  } catch {
    outcome = undefined;
  }
  const ok = res.statusCode < 300;
  switch (path) {
    case LOGIN_PATH: {
      const status = outcome?.status;
      metrics.logins.inc({
        result: ok && typeof status === "string" ? status : errorCodeOf(outcome),
      });
      return;
    }
    case REGISTER_PATH: {
      if (!ok) return;
      const viaSms = (req.body as { smsCode?: unknown } | undefined)?.smsCode !== undefined;
      metrics.registrations.inc({ method: viaSms ? "sms" : "phone_button" });
      return;
    }
    case REFRESH_PATH: {
      const code = errorCodeOf(outcome);
      metrics.refreshes.inc({
        result: ok ? "rotated" : code === "REFRESH_TOKEN_REUSED" ? "reuse_detected" : code,
      });
      return;
    }
  }
}

/**
 * Times and counts every request by route template, method and status, and counts logins,
 * registrations and refreshes by their answer. Those are read from the answer the client got, at
 * the one place every request passes, so the services stay free of metrics.
 */
export function metricsMiddleware(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const startedAt = performance.now();
    // Routers mounted under a prefix rewrite req.url while they run: take the path as it came.
    const path = req.path;
    let authAnswer: string | undefined;
    if (req.method === "POST" && OUTCOME_PATHS.has(path)) {
      // The answer's JSON is its only record of the outcome: keep it as it is written.
      const end = res.end.bind(res) as (...args: unknown[]) => Response;
      res.end = ((...args: unknown[]) => {
        const [chunk] = args;
        if (typeof chunk === "string" || Buffer.isBuffer(chunk)) authAnswer = chunk.toString();
        return end(...args);
      }) as Response["end"];
    }
    res.once("close", () => {
      // A client that left before its answer was written: not a status the API chose.
      const status = res.writableFinished ? String(res.statusCode) : "aborted";
      const labels = { route: routeTemplateOf(req), method: req.method, status };
      metrics.httpRequests.inc(labels);
      metrics.httpRequestDuration.observe(labels, (performance.now() - startedAt) / 1000);
      if (authAnswer !== undefined) countAuthOutcome(metrics, path, req, res, authAnswer);
    });
    next();
  };
}
