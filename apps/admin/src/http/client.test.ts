import { describe, expect, it, vi } from "vitest";
import { AdminApiError, TransportError, createAdminClient, pathOf } from "./client";

const operatorSession = {
  operator: { name: "alice", role: "admin" },
  csrfToken: "csrf-token-0123456789",
  passwordChangeRequired: false,
};

function errorBody(code: string, message = "m") {
  return { error: { code, message, retryable: false, requestId: "req-1" } };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** A client over a fetch that answers `answer` and records what it was asked. */
function clientAnswering(answer: Response | Error, csrfToken: string | null = "csrf-1") {
  const requests: { url: string; init: RequestInit }[] = [];
  const onUnauthenticated = vi.fn();
  const onPasswordChangeRequired = vi.fn();
  const client = createAdminClient({
    fetch: async (url, init) => {
      requests.push({ url: String(url), init: init ?? {} });
      if (answer instanceof Error) throw answer;
      return answer;
    },
    csrfToken: () => csrfToken,
    onUnauthenticated,
    onPasswordChangeRequired,
  });
  return { client, requests, onUnauthenticated, onPasswordChangeRequired };
}

describe("the console's API client", () => {
  it("signs in with a JSON body and the same-origin cookie, and validates the answer", async () => {
    const { client, requests } = clientAnswering(json(200, operatorSession), null);
    const answer = await client.call("signInOperator", {
      body: { name: "alice", password: "secret" },
    });
    expect(answer).toEqual(operatorSession);
    expect(requests).toHaveLength(1);
    const [{ url, init }] = requests as [{ url: string; init: RequestInit }];
    expect(url).toBe("/api/admin/session");
    expect(init.method).toBe("POST");
    expect(init.credentials).toBe("same-origin");
    expect(init.body).toBe(JSON.stringify({ name: "alice", password: "secret" }));
    expect(init.headers).toMatchObject({ "content-type": "application/json" });
    // Signing in has no session and so no CSRF token to send.
    expect(init.headers).not.toHaveProperty("X-CSRF-Token");
  });

  it("sends X-CSRF-Token on the routes that change something, and never on reads", async () => {
    const banned = clientAnswering(
      json(200, { reason: "spam", until: null, bannedAt: "2026-12-07T10:00:00Z", by: "alice" }),
    );
    await banned.client.call("banUser", { params: { userId: "u1" }, body: { reason: "spam" } });
    expect(banned.requests[0]?.url).toBe("/api/admin/users/u1/ban");
    expect(banned.requests[0]?.init.headers).toMatchObject({ "X-CSRF-Token": "csrf-1" });

    const revoked = clientAnswering(new Response(null, { status: 204 }));
    await expect(
      revoked.client.call("revokeUserSession", { params: { userId: "u 1", sessionId: "s/1" } }),
    ).resolves.toBeUndefined();
    expect(revoked.requests[0]?.url).toBe("/api/admin/users/u%201/sessions/s%2F1");
    expect(revoked.requests[0]?.init.method).toBe("DELETE");
    expect(revoked.requests[0]?.init.headers).toMatchObject({ "X-CSRF-Token": "csrf-1" });

    const read = clientAnswering(json(200, { deletions: [] }));
    await read.client.call("listScheduledDeletions");
    expect(read.requests[0]?.init.headers).not.toHaveProperty("X-CSRF-Token");
  });

  it("puts the query in the URL, leaving out what is empty", async () => {
    const page = { users: [], nextCursor: null };
    const search = clientAnswering(json(200, page));
    await search.client.call("searchUsers", { query: { query: "8000", cursor: undefined } });
    expect(search.requests[0]?.url).toBe("/api/admin/users?query=8000");

    const all = clientAnswering(json(200, page));
    await all.client.call("searchUsers", { query: { query: "" } });
    expect(all.requests[0]?.url).toBe("/api/admin/users");

    const spend = clientAnswering(
      json(200, { days: [], prices: { phoneLookupCny: 0.03, smsCny: 0.045 } }),
    );
    await spend.client.call("getSpend", { query: { days: 30 } });
    expect(spend.requests[0]?.url).toBe("/api/admin/spend?days=30");
  });

  it("turns an error body into an AdminApiError with the contract's code", async () => {
    const { client, onUnauthenticated } = clientAnswering(
      json(403, errorBody("OPERATOR_FORBIDDEN")),
    );
    const failure = client.call("revealUserPhone", { params: { userId: "u1" } });
    await expect(failure).rejects.toBeInstanceOf(AdminApiError);
    await expect(failure).rejects.toMatchObject({
      code: "OPERATOR_FORBIDDEN",
      status: 403,
      retryable: false,
      requestId: "req-1",
    });
    expect(onUnauthenticated).not.toHaveBeenCalled();
  });

  it("reports a lost session, so the console goes to sign-in", async () => {
    const { client, onUnauthenticated } = clientAnswering(
      json(401, errorBody("OPERATOR_UNAUTHENTICATED")),
    );
    await expect(client.call("getUser", { params: { userId: "u1" } })).rejects.toMatchObject({
      code: "OPERATOR_UNAUTHENTICATED",
    });
    expect(onUnauthenticated).toHaveBeenCalledOnce();
  });

  it("does not sign out on a wrong sign-in: that 401 is the sign-in page's to show", async () => {
    const { client, onUnauthenticated } = clientAnswering(
      json(401, errorBody("OPERATOR_SIGNIN_FAILED")),
    );
    await expect(
      client.call("signInOperator", { body: { name: "alice", password: "wrong" } }),
    ).rejects.toMatchObject({ code: "OPERATOR_SIGNIN_FAILED", status: 401 });
    expect(onUnauthenticated).not.toHaveBeenCalled();
  });

  it("reports a required password change", async () => {
    const { client, onPasswordChangeRequired } = clientAnswering(
      json(403, errorBody("PASSWORD_CHANGE_REQUIRED")),
    );
    await expect(client.call("searchUsers")).rejects.toMatchObject({
      code: "PASSWORD_CHANGE_REQUIRED",
    });
    expect(onPasswordChangeRequired).toHaveBeenCalledOnce();
  });

  it("refuses answers that are not the contract's", async () => {
    // A masked phone is all a list may carry; a full number is a broken server, not data.
    const leaky = clientAnswering(
      json(200, {
        users: [
          {
            id: "u1",
            phone: "+8613800138000",
            nickname: null,
            apps: [],
            createdAt: "2026-12-07T10:00:00Z",
            lastSignInAt: null,
            status: "active",
          },
        ],
        nextCursor: null,
      }),
    );
    await expect(leaky.client.call("searchUsers")).rejects.toMatchObject({
      failure: "invalid_response",
    });

    const proxyPage = clientAnswering(
      new Response("<html>502 Bad Gateway</html>", { status: 502 }),
    );
    await expect(proxyPage.client.call("searchUsers")).rejects.toBeInstanceOf(TransportError);

    const unknownCode = clientAnswering(json(400, errorBody("NOT_A_CODE")));
    await expect(unknownCode.client.call("searchUsers")).rejects.toMatchObject({
      failure: "invalid_response",
    });
  });

  it("reports a network failure as such", async () => {
    const { client } = clientAnswering(new TypeError("Failed to fetch"));
    await expect(client.call("getOperatorSession")).rejects.toMatchObject({
      failure: "network",
      message: "network: Failed to fetch",
    });
  });
});

describe("pathOf", () => {
  it("fills and encodes path parameters, and refuses a missing one", () => {
    expect(pathOf("/api/admin/users/:userId/ban", { userId: "a/b" })).toBe(
      "/api/admin/users/a%2Fb/ban",
    );
    expect(() => pathOf("/api/admin/users/:userId", {})).toThrow(/userId/);
  });
});
