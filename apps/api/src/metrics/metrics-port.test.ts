/*
 * The built API as production runs it: with METRICS_PORT set, /metrics answers there and only
 * there.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureBuilt, startApiProcess, type ApiProcess } from "../testing/api-process.js";
import { createSuiteDatabase, type SuiteDatabase } from "../testing/harness.js";
import { freePort } from "../testing/node-process.js";

let database: SuiteDatabase;
let api: ApiProcess | undefined;

beforeAll(async () => {
  ensureBuilt();
  database = await createSuiteDatabase();
}, 180_000);

afterAll(async () => {
  await api?.stop();
  await database.drop();
});

it("METRICS_PORT: the API's requests are counted on that port, /metrics is 404 on the API's, and SIGTERM still exits 0", async () => {
  const metricsPort = await freePort();
  api = await startApiProcess({
    NODE_ENV: "development",
    DATABASE_URL: database.url,
    METRICS_PORT: String(metricsPort),
  });
  expect((await fetch(`${api.url}/metrics`)).status).toBe(404);
  const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  expect(metrics.status).toBe(200);
  const text = await metrics.text();
  // startApiProcess waited for /api/health to answer 200; the API's 404 above came after.
  expect(text).toMatch(
    /wxauth_http_requests_total\{route="\/api\/health",method="GET",status="200"\} [1-9]/,
  );
  expect(text).toMatch(
    /wxauth_http_requests_total\{route="unmatched",method="GET",status="404"\} 1/,
  );
  const running = api;
  api = undefined;
  expect(await running.stop()).toBe(0);
});
