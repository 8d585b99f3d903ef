/*
 * Property tests of refresh-token rotation, through POST /api/auth/refresh with a manual clock:
 * chains of any length work and leave exactly one current token; presenting an old token outside
 * the grace window revokes the whole session; inside it, any number of presentations (one after
 * another or at once) get the same successor and a working access token.
 */
import { TokenPairSchema, UserSchema, type TokenPair } from "@wxauth/contracts";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { hashOpaqueToken } from "../auth/opaque-tokens.js";
import {
  expectErrorBody,
  startTestApi,
  type HttpResult,
  type TestApi,
} from "../testing/harness.js";
import { FUZZ_RUNS, FUZZ_TIMEOUT_MS } from "../testing/arbitraries.js";

const GRACE_S = 10;
const GRACE_MS = GRACE_S * 1000;
/** Each run is a chain of HTTP calls, so fewer runs than the one-request fuzz properties. */
const RUNS = Math.max(20, Math.ceil(FUZZ_RUNS / 5));
/** The requests of one run take real time, which the manual clock adds to its offset. */
const REAL_TIME_ROOM_MS = 2_000;

vi.setConfig({ testTimeout: FUZZ_TIMEOUT_MS });

let api: TestApi;
let userId: string;
beforeAll(async () => {
  api = await startTestApi({
    env: { REFRESH_REUSE_GRACE_S: String(GRACE_S), REFRESH_TOKEN_TTL_S: String(365 * 86_400) },
  });
  userId = (await api.register()).user.id;
});
afterAll(() => api.close());

const refresh = (refreshToken: string): Promise<HttpResult> =>
  api.request("POST", "/api/auth/refresh", { body: { refreshToken } });

async function rotate(refreshToken: string): Promise<TokenPair> {
  const result = await refresh(refreshToken);
  expect(result.status, result.text).toBe(200);
  return TokenPairSchema.parse(result.body);
}

async function expectAccessTokenWorks(pair: TokenPair): Promise<void> {
  const me = await api.request("GET", "/api/me", { token: pair.accessToken });
  expect(me.status).toBe(200);
  expect(UserSchema.parse(me.body).id).toBe(userId);
}

/** A new sign-in (a new session) of the test user, rotated `gaps.length` times. */
async function chain(gapsMs: readonly number[]): Promise<string[]> {
  const issued = await api.deps.sessions.issue(userId, api.deps.apps.primary.appid, {});
  if (!issued) throw new Error("the test user is gone");
  const tokens = [issued.tokens.refreshToken];
  for (const gap of gapsMs) {
    api.clock.advance(gap);
    tokens.push((await rotate(tokens.at(-1) ?? "")).refreshToken);
  }
  return tokens;
}

/** The session of the token, with every token of it. */
async function sessionOf(refreshToken: string) {
  const session = await api.deps.db
    .selectFrom("sessions as s")
    .innerJoin("refresh_tokens as t", "t.session_id", "s.id")
    .select(["s.id", "s.revoked_at as revokedAt"])
    .where("t.token_hash", "=", hashOpaqueToken(refreshToken))
    .executeTakeFirst();
  if (!session) throw new Error("no session holds the token");
  const refreshTokens = await api.deps.db
    .selectFrom("refresh_tokens")
    .select(["token_hash as tokenHash", "rotated_at as rotatedAt"])
    .where("session_id", "=", session.id)
    .execute();
  return { ...session, refreshTokens };
}

/** Time between two rotations: anything from at once to long past the grace window. */
const gapMs = fc.integer({ min: 0, max: 3 * GRACE_MS });

describe("refresh-token rotation", () => {
  it("chains of any length work, all tokens differ, and only the newest is current", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(gapMs, { minLength: 1, maxLength: 8 }), async (gaps) => {
        const tokens = await chain(gaps);
        expect(new Set(tokens).size).toBe(tokens.length);
        const session = await sessionOf(tokens[0] ?? "");
        expect(session.revokedAt).toBeNull();
        const current = session.refreshTokens.filter((token) => token.rotatedAt === null);
        expect(current.map((token) => token.tokenHash)).toEqual([
          hashOpaqueToken(tokens.at(-1) ?? ""),
        ]);
        await expectAccessTokenWorks(await rotate(tokens.at(-1) ?? ""));
      }),
      { numRuns: RUNS },
    );
  });

  it("an older token presented outside the grace window is REFRESH_TOKEN_REUSED and revokes the whole session", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(gapMs, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        fc.integer({ min: 1, max: 30 * 86_400_000 }),
        async (gaps, pick, pastGraceMs) => {
          const tokens = await chain(gaps);
          const reused = tokens[pick % (tokens.length - 1)] ?? "";
          // The newest rotation is the latest one, so past it every older token is out of grace.
          api.clock.advance(GRACE_MS + pastGraceMs);
          const answer = await refresh(reused);
          expect(answer.status).toBe(401);
          expectErrorBody(answer, "REFRESH_TOKEN_REUSED");

          const session = await sessionOf(reused);
          expect(session.revokedAt).not.toBeNull();
          // The thief's copy and the owner's newest token are both dead now.
          const newest = await refresh(tokens.at(-1) ?? "");
          expect(newest.status).toBe(401);
          expectErrorBody(newest, "REFRESH_TOKEN_INVALID");
          expect((await refresh(reused)).status).toBe(401);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("a just-rotated token presented inside the grace window, any number of times, gets the same successor and a working access token", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(gapMs, { maxLength: 3 }),
        fc.array(fc.integer({ min: 0, max: GRACE_MS }), { minLength: 1, maxLength: 5 }),
        async (gaps, presentationGaps) => {
          const tokens = await chain(gaps);
          const rotated = tokens.at(-1) ?? "";
          const successor = await rotate(rotated);
          // The presentations together stay inside the window, measured from the rotation. The
          // manual clock runs on real time plus its offset, so leave room for the calls themselves.
          const room = GRACE_MS - REAL_TIME_ROOM_MS;
          const total = presentationGaps.reduce((sum, gap) => sum + gap, 0);
          const scale = room / Math.max(room, total);
          for (const gap of presentationGaps) {
            api.clock.advance(Math.floor(gap * scale));
            const again = await rotate(rotated);
            expect(again.refreshToken).toBe(successor.refreshToken);
            await expectAccessTokenWorks(again);
          }
          expect((await sessionOf(rotated)).revokedAt).toBeNull();
          // The successor is still the session's current token.
          expect((await rotate(successor.refreshToken)).refreshToken).not.toBe(
            successor.refreshToken,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("concurrent presentations of one token all get the same successor", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(gapMs, { maxLength: 3 }),
        fc.integer({ min: 2, max: 8 }),
        async (gaps, copies) => {
          const tokens = await chain(gaps);
          const answers = await Promise.all(
            Array.from({ length: copies }, () => rotate(tokens.at(-1) ?? "")),
          );
          expect(new Set(answers.map((pair) => pair.refreshToken)).size).toBe(1);
          await expectAccessTokenWorks(answers[0] as TokenPair);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
