import { contract, type RouteDefinition } from "@wxauth/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectErrorBody, startTestApi, type TestApi } from "../testing/harness.js";

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

const routes = Object.entries(contract as Record<string, RouteDefinition>);
const signedIn = routes.filter(([, route]) => route.auth);
const open = routes.filter(([, route]) => !route.auth);

/** The route's request with no Authorization header unless one is given: path parameters filled. */
function call(route: RouteDefinition, headers: Record<string, string> = {}) {
  return api.request(route.method, route.path.replace(/:\w+/g, "x"), {
    body: route.body ? {} : undefined,
    headers,
  });
}

describe("authentication, from the contract's route table", () => {
  it("covers the routes of the signed-in user", () => {
    expect(signedIn.map(([name]) => name)).toEqual(
      expect.arrayContaining(["getMe", "updateMe", "bindPhone", "uploadAvatar"]),
    );
  });

  it.each(signedIn)("%s (auth: true) answers 401 without a Bearer token", async (_name, route) => {
    const result = await call(route);
    expect(result.status).toBe(401);
    expectErrorBody(result, "UNAUTHORIZED");
    expect(result.headers["www-authenticate"]).toMatch(/^Bearer/);
  });

  it.each(signedIn)("%s (auth: true) answers 401 to a token it did not sign", async (_, route) => {
    expectErrorBody(await call(route, { authorization: "Bearer not.a.token" }), "UNAUTHORIZED");
  });

  it.each(open)("%s (auth: false) asks for no token", async (_name, route) => {
    expect((await call(route)).status).not.toBe(401);
  });
});
