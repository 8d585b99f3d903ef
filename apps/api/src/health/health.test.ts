import { HealthResponseSchema } from "@wxauth/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../testing/harness.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api?.close());

describe("health", () => {
  it.each(["/api/health", "/api/health/ready"])("%s answers 200 ok, never cached", async (path) => {
    const result = await api.request("GET", path);
    expect(result.status).toBe(200);
    expect(HealthResponseSchema.parse(result.body)).toEqual({ status: "ok" });
    expect(result.headers["cache-control"]).toBe("no-store");
  });

  it("readiness without REDIS_URL asks the database alone, and is ready with it", async () => {
    expect(api.deps.pingRedis).toBeUndefined();
    expect((await api.request("GET", "/api/health/ready")).status).toBe(200);
  });
});
