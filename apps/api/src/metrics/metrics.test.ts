/*
 * What an operator scrapes: the counters move by exactly what a user's journey did, labels carry
 * route templates and codes (never an id, a phone, an openid or a token), and /metrics is served on
 * its own port, never on the API's.
 */
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectErrorBody,
  startTestApi,
  type TestApi,
  uniquePhoneNumber,
} from "../testing/harness.js";
import { startMetricsServer } from "./metrics-server.js";

let api: TestApi;
let metricsServer: Server;
let metricsUrl: string;

beforeAll(async () => {
  api = await startTestApi();
  metricsServer = await startMetricsServer(api.deps.metrics.registry, 0, "127.0.0.1");
  metricsUrl = `http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics`;
});

afterAll(async () => {
  metricsServer?.close();
  await api?.close();
});

interface Scrape {
  text: string;
  /** `name{label="value",…}` (labels sorted) → value, for every sample. */
  samples: Map<string, number>;
}

const SAMPLE_LINE = /^(\w+)(?:\{(.*)\})? (\S+)$/;
const LABEL_PAIR = /(\w+)="((?:[^"\\]|\\.)*)"/g;

async function scrape(): Promise<Scrape> {
  const response = await fetch(metricsUrl);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = SAMPLE_LINE.exec(line);
    if (!match) continue;
    const [, name, labels = "", value] = match;
    const sorted = [...labels.matchAll(LABEL_PAIR)]
      .map(([, label, labelValue]) => `${label}="${labelValue}"`)
      .sort();
    samples.set(sorted.length > 0 ? `${name}{${sorted.join(",")}}` : name!, Number(value));
  }
  return { text, samples };
}

/**
 * The wxauth series whose value changed between two scrapes, with the change. Histogram buckets
 * and sums are left out: their `_count` says how many observations there were.
 */
function moved(before: Scrape, after: Scrape): Record<string, number> {
  const changes: Record<string, number> = {};
  for (const [series, value] of after.samples) {
    if (!series.startsWith("wxauth_") || /_(bucket|sum)\{/.test(series)) continue;
    const change = value - (before.samples.get(series) ?? 0);
    if (change !== 0) changes[series] = change;
  }
  return changes;
}

describe("metrics after a user's journey", () => {
  it("a new user logs in, registers with the phone button, refreshes, and replays a refresh token", async () => {
    const before = await scrape();

    const { code, openid } = await api.loginCode();
    const login = await api.login(code);
    if (login.status !== "registration_required") throw new Error(`login: ${login.status}`);
    const phoneNumber = uniquePhoneNumber();
    const registered = await api.request("POST", "/api/auth/wechat/register", {
      body: {
        registrationTicket: login.registrationTicket,
        phoneCode: await api.phoneCode(phoneNumber, openid),
      },
    });
    expect(registered.status).toBe(201);
    const session = registered.body as { refreshToken: string; user: { id: string } };
    const refreshed = await api.request("POST", "/api/auth/refresh", {
      body: { refreshToken: session.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    // Past the grace window, the rotated token again: a replay, and the family is revoked.
    api.clock.advance((api.config.refreshReuseGraceS + 1) * 1000);
    const replayed = await api.request("POST", "/api/auth/refresh", {
      body: { refreshToken: session.refreshToken },
    });
    expectErrorBody(replayed, "REFRESH_TOKEN_REUSED");

    const after = await scrape();
    expect(moved(before, after)).toEqual({
      'wxauth_logins_total{app="default",result="registration_required"}': 1,
      'wxauth_registrations_total{app="default",method="phone_button"}': 1,
      'wxauth_refreshes_total{result="rotated"}': 1,
      'wxauth_refreshes_total{result="reuse_detected"}': 1,
      // One successful lookup: the one WeChat bills.
      'wxauth_phone_number_lookups_total{app="default",result="success"}': 1,
      'wxauth_wechat_calls_total{api="jscode2session",app="default",outcome="ok"}': 1,
      'wxauth_wechat_calls_total{api="getuserphonenumber",app="default",outcome="ok"}': 1,
      'wxauth_wechat_calls_total{api="stable_token",app="default",outcome="ok"}': 1,
      'wxauth_wechat_call_duration_seconds_count{api="jscode2session",app="default"}': 1,
      'wxauth_wechat_call_duration_seconds_count{api="getuserphonenumber",app="default"}': 1,
      'wxauth_wechat_call_duration_seconds_count{api="stable_token",app="default"}': 1,
      'wxauth_wechat_access_token_fetches_total{app="default"}': 1,
      'wxauth_http_requests_total{method="POST",route="/api/auth/wechat/login",status="200"}': 1,
      'wxauth_http_requests_total{method="POST",route="/api/auth/wechat/register",status="201"}': 1,
      'wxauth_http_requests_total{method="POST",route="/api/auth/refresh",status="200"}': 1,
      'wxauth_http_requests_total{method="POST",route="/api/auth/refresh",status="401"}': 1,
      'wxauth_http_request_duration_seconds_count{method="POST",route="/api/auth/wechat/login",status="200"}': 1,
      'wxauth_http_request_duration_seconds_count{method="POST",route="/api/auth/wechat/register",status="201"}': 1,
      'wxauth_http_request_duration_seconds_count{method="POST",route="/api/auth/refresh",status="200"}': 1,
      'wxauth_http_request_duration_seconds_count{method="POST",route="/api/auth/refresh",status="401"}': 1,
    });

    // Nothing that identifies the user, their WeChat account or their tokens is in a label.
    const registeredUser = registered.body as { user: { phone: string } };
    for (const secret of [
      openid,
      phoneNumber,
      registeredUser.user.phone,
      session.user.id,
      session.refreshToken,
      login.registrationTicket,
      code,
    ]) {
      expect(after.text).not.toContain(secret);
    }
  });

  it("a returning user's login, and failures counted by their error code and WeChat's errcode", async () => {
    const { openid } = await api.register();
    const before = await scrape();

    const { code } = await api.loginCode({ openid });
    expect((await api.login(code)).status).toBe("authenticated");
    // A code WeChat never issued: WeChat answers 40029, the client WECHAT_CODE_INVALID.
    const unknown = await api.request("POST", "/api/auth/wechat/login", {
      body: { code: "never-issued-by-wechat" },
    });
    expectErrorBody(unknown, "WECHAT_CODE_INVALID");
    const invalid = await api.request("POST", "/api/auth/wechat/login", { body: {} });
    expectErrorBody(invalid, "VALIDATION_FAILED");

    expect(moved(before, await scrape())).toEqual({
      'wxauth_logins_total{app="default",result="authenticated"}': 1,
      'wxauth_logins_total{app="default",result="WECHAT_CODE_INVALID"}': 1,
      // Refused before it named an app.
      'wxauth_logins_total{app="unknown",result="VALIDATION_FAILED"}': 1,
      'wxauth_wechat_calls_total{api="jscode2session",app="default",outcome="ok"}': 1,
      'wxauth_wechat_calls_total{api="jscode2session",app="default",outcome="40029"}': 1,
      'wxauth_wechat_call_duration_seconds_count{api="jscode2session",app="default"}': 2,
      'wxauth_http_requests_total{method="POST",route="/api/auth/wechat/login",status="200"}': 1,
      'wxauth_http_requests_total{method="POST",route="/api/auth/wechat/login",status="401"}': 1,
      'wxauth_http_requests_total{method="POST",route="/api/auth/wechat/login",status="400"}': 1,
      'wxauth_http_request_duration_seconds_count{method="POST",route="/api/auth/wechat/login",status="200"}': 1,
      'wxauth_http_request_duration_seconds_count{method="POST",route="/api/auth/wechat/login",status="401"}': 1,
      'wxauth_http_request_duration_seconds_count{method="POST",route="/api/auth/wechat/login",status="400"}': 1,
    });
  });

  it("a failed phone-number lookup is counted by WeChat's errcode, not as a billed success", async () => {
    const { code, openid } = await api.loginCode();
    const login = await api.login(code);
    if (login.status !== "registration_required") throw new Error(`login: ${login.status}`);
    const before = await scrape();
    // A getPhoneNumber code WeChat never issued.
    const refused = await api.request("POST", "/api/auth/wechat/register", {
      body: { registrationTicket: login.registrationTicket, phoneCode: "never-issued" },
    });
    expect(refused.status).toBe(401);
    const after = await scrape();
    const changes = moved(before, after);
    expect(changes['wxauth_phone_number_lookups_total{app="default",result="40029"}']).toBe(1);
    expect(
      changes['wxauth_phone_number_lookups_total{app="default",result="success"}'],
    ).toBeUndefined();
    expect(
      changes['wxauth_registrations_total{app="default",method="phone_button"}'],
    ).toBeUndefined();
    expect(after.text).not.toContain(openid);
  });
});

describe("route labels", () => {
  it("are route templates for known routes and `unmatched` for unknown paths, never raw URLs", async () => {
    const avatarId = "0b6f7c2a-3f1e-4d1b-9a55-7b1c1f3e9d20";
    const unknownPath = "/api/no-such-route-4f1c9e";
    const before = await scrape();
    expect((await api.request("GET", `/api/avatars/${avatarId}`)).status).toBe(404);
    expect((await api.request("GET", unknownPath)).status).toBe(404);
    const after = await scrape();
    expect(moved(before, after)).toMatchObject({
      'wxauth_http_requests_total{method="GET",route="/api/avatars/:avatarId",status="404"}': 1,
      'wxauth_http_requests_total{method="GET",route="unmatched",status="404"}': 1,
    });
    expect(after.text).not.toContain(avatarId);
    expect(after.text).not.toContain(unknownPath);
  });

  it("name the contract route of a request answered before the route ran (a rate limit)", async () => {
    const limited = await startTestApi({ env: { AUTH_RATE_LIMIT_PER_MINUTE: "1" } });
    try {
      const registry = limited.deps.metrics.registry;
      for (let i = 0; i < 2; i++) {
        await limited.request("POST", "/api/auth/refresh", { body: { refreshToken: "x" } });
      }
      const counted = await registry.getSingleMetric("wxauth_refreshes_total")?.get();
      const results = Object.fromEntries(
        (counted?.values ?? []).map(({ labels, value }) => [String(labels.result), value]),
      );
      expect(results).toMatchObject({ VALIDATION_FAILED: 1, RATE_LIMITED: 1 });
      const requests = await registry.getSingleMetric("wxauth_http_requests_total")?.get();
      expect(requests?.values.map(({ labels }) => labels)).toContainEqual({
        route: "/api/auth/refresh",
        method: "POST",
        status: "429",
      });
    } finally {
      await limited.close();
    }
  });
});

describe("serving", () => {
  it("serves Node's process metrics beside the API's", async () => {
    const { text } = await scrape();
    for (const name of [
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
      "wxauth_sms_sent_total",
      "wxauth_sms_limited_total",
      "wxauth_sms_refused_total",
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it("never on the API's port", async () => {
    const result = await api.request("GET", "/metrics");
    expect(result.status).toBe(404);
    expectErrorBody(result, "NOT_FOUND");
    expect((await api.request("GET", "/api/metrics")).status).toBe(404);
  });

  it("only GET /metrics on the metrics port", async () => {
    const other = metricsUrl.replace(/\/metrics$/, "/api/health");
    expect((await fetch(other)).status).toBe(404);
    expect((await fetch(metricsUrl, { method: "POST" })).status).toBe(404);
  });
});

describe("docs/deployment.md", () => {
  it("lists every metric the API registers", async () => {
    const docs = readFileSync(new URL("../../../../docs/deployment.md", import.meta.url), "utf8");
    const names = (await api.deps.metrics.registry.getMetricsAsJSON()).map(({ name }) => name);
    const ours = names.filter((name) => name.startsWith("wxauth_"));
    expect(ours.length).toBeGreaterThanOrEqual(12);
    for (const name of ours) expect(docs, name).toContain(`\`${name}\``);
  });
});
