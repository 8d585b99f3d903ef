import type { WechatObserver } from "@wxauth/wechat";
import type { AuthObserver, RegistrationMethod } from "../auth/auth.service.js";
import type { SmsObserver } from "../sms/sms-sender.js";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Seconds: from a cached read (~1 ms) to a WeChat call that used its whole budget (5 s and up). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The API's Prometheus metrics, in a registry of their own (one per app, so tests can build
 * several). Label values come from small closed sets (route templates, methods, statuses, error
 * codes, WeChat API names and errcodes): never an id, a phone number, an openid or a token.
 */
export function createMetrics(appNames: readonly string[] = ["default"]) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const metrics = {
    registry,
    httpRequests: new Counter({
      name: "wxauth_http_requests_total",
      help: "HTTP requests answered, by route template (`unmatched` for unknown paths), method and status",
      labelNames: ["route", "method", "status"] as const,
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: "wxauth_http_request_duration_seconds",
      help: "Time from a request's arrival to the end of its answer, by route template, method and status",
      labelNames: ["route", "method", "status"] as const,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    wechatCalls: new Counter({
      name: "wxauth_wechat_calls_total",
      help: "Calls to WeChat's server API, retries included, by app (its configured name), API and outcome (ok, errcode, timeout, network, http, parse)",
      labelNames: ["app", "api", "outcome"] as const,
      registers,
    }),
    wechatCallDuration: new Histogram({
      name: "wxauth_wechat_call_duration_seconds",
      help: "Duration of calls to WeChat's server API, retries included, by app and API",
      labelNames: ["app", "api"] as const,
      buckets: DURATION_BUCKETS,
      registers,
    }),
    wechatAccessTokenFetches: new Counter({
      name: "wxauth_wechat_access_token_fetches_total",
      help: "Access tokens fetched from WeChat (not served from this process's cache or the shared store), by app",
      labelNames: ["app"] as const,
      registers,
    }),
    phoneNumberLookups: new Counter({
      name: "wxauth_phone_number_lookups_total",
      help: "getuserphonenumber calls by app and result: `success` is what WeChat bills; otherwise the errcode, timeout or network",
      labelNames: ["app", "result"] as const,
      registers,
    }),
    logins: new Counter({
      name: "wxauth_logins_total",
      help: "POST /api/auth/wechat/login answers by app (`unknown` before one is known) and result: authenticated, registration_required, or the error code",
      labelNames: ["app", "result"] as const,
      registers,
    }),
    registrations: new Counter({
      name: "wxauth_registrations_total",
      help: "Accounts created, by app and how the phone was verified: phone_button, sms, or auto (no phone)",
      labelNames: ["app", "method"] as const,
      registers,
    }),
    refreshes: new Counter({
      name: "wxauth_refreshes_total",
      help: "POST /api/auth/refresh answers by result: rotated, reuse_detected, or the error code",
      labelNames: ["result"] as const,
      registers,
    }),
    smsSent: new Counter({
      name: "wxauth_sms_sent_total",
      help: "Verification codes sent by SMS (the provider accepted the message)",
      registers,
    }),
    smsLimited: new Counter({
      name: "wxauth_sms_limited_total",
      help: "SMS sends refused by the API's own abuse limits (429 SMS_RATE_LIMITED), by limit",
      labelNames: ["limit"] as const,
      registers,
    }),
    smsRefused: new Counter({
      name: "wxauth_sms_refused_total",
      help: "SMS sends the provider refused or failed (503 SMS_UNAVAILABLE), by the provider's error code",
      labelNames: ["reason"] as const,
      registers,
    }),
    securityEventWriteFailures: new Counter({
      name: "wxauth_security_event_write_failures_total",
      help: "Security events logged but not stored in the security_events table (the database refused the row)",
      registers,
    }),
    contentChecks: new Counter({
      name: "wxauth_content_checks_total",
      help: "WeChat content checks of nicknames and avatars by verdict (pass, review, risky); unchecked: the avatar check could not be started",
      labelNames: ["check", "result"] as const,
      registers,
    }),
    wechatPushes: new Counter({
      name: "wxauth_wechat_pushes_total",
      help: "WeChat message pushes received, by app, event and result (handled, duplicate, in_flight, refused)",
      labelNames: ["app", "event", "result"] as const,
      registers,
    }),
  };

  // The results alerts are written against exist from the start, at 0, so that a rate over them
  // is 0 rather than absent until the first one happens.
  for (const app of appNames) {
    for (const result of ["authenticated", "registration_required"]) {
      metrics.logins.inc({ app, result }, 0);
    }
    for (const method of ["phone_button", "sms", "auto"] satisfies RegistrationMethod[]) {
      metrics.registrations.inc({ app, method }, 0);
    }
    metrics.phoneNumberLookups.inc({ app, result: "success" }, 0);
  }
  for (const result of ["rotated", "reuse_detected"]) metrics.refreshes.inc({ result }, 0);
  metrics.securityEventWriteFailures.inc(0);
  metrics.contentChecks.inc({ check: "avatar", result: "unchecked" }, 0);

  /** What one app's WeChat client reports to: its calls, counted under its name. */
  const wechatObserverFor = (app: string): WechatObserver => ({
    call(api, outcome, seconds) {
      metrics.wechatCalls.inc({ app, api, outcome });
      metrics.wechatCallDuration.observe({ app, api }, seconds);
      if (api === "getuserphonenumber") {
        metrics.phoneNumberLookups.inc({ app, result: outcome === "ok" ? "success" : outcome });
      }
    },
    accessTokenFetched() {
      metrics.wechatAccessTokenFetches.inc({ app });
    },
  });

  const authObserver: AuthObserver = {
    registered: (method, app) => metrics.registrations.inc({ app, method }),
  };

  const smsObserver: SmsObserver = {
    sent: () => metrics.smsSent.inc(),
    limited: (limit) => metrics.smsLimited.inc({ limit }),
    refused: (reason) => metrics.smsRefused.inc({ reason }),
  };

  return { ...metrics, wechatObserverFor, authObserver, smsObserver };
}

export type Metrics = ReturnType<typeof createMetrics>;
