/*
 * Rotating keys signs nobody out and loses no data: the API runs on one database with the keys of
 * each step of docs/deployment.md's rotations in turn, and the operator's commands run as they would
 * in production (a process with the deployment's environment).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { TokenPairSchema } from "@wxauth/contracts";
import { Sealer } from "@wxauth/wechat";
import jwt from "jsonwebtoken";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AT_REST_LABELS } from "../auth/at-rest-cipher.js";
import { API_ROOT, type Env } from "../config.js";
import { createDatabase } from "../db/client.js";
import {
  createSuiteDatabase,
  expectErrorBody,
  startTestApi,
  type SuiteDatabase,
  type TestApi,
} from "../testing/harness.js";

const run = promisify(execFile);

/** Runs `pnpm --filter @wxauth/api keys:<name>` as its script does, with only `env` set. */
async function keysCommand(name: "legacy" | "reseal", env: Record<string, string>) {
  const script = { legacy: "src/keys/legacy-key-command.ts", reseal: "src/keys/reseal-command.ts" };
  const { stdout } = await run(process.execPath, ["--import", "tsx", script[name]], {
    cwd: API_ROOT,
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", ...env },
  });
  return stdout;
}

const newSecret = () => randomBytes(32).toString("base64url");
const newDataKey = (id: string) => `${id}:${randomBytes(32).toString("base64url")}`;

// A database per test: each starts from keys of its own.
let database: SuiteDatabase;
beforeEach(async () => {
  database = await createSuiteDatabase();
});
afterEach(() => database.drop());

/** Runs `work` against an API on the suite's database with `env`, then stops that API. */
async function withApi<T>(env: Env, work: (api: TestApi) => Promise<T>): Promise<T> {
  const api = await startTestApi({
    env: { DATABASE_URL: database.url, REFRESH_REUSE_GRACE_S: "300", ...env },
  });
  try {
    return await work(api);
  } finally {
    await api.close();
  }
}

const refresh = (api: TestApi, refreshToken: string) =>
  api.request("POST", "/api/auth/refresh", { body: { refreshToken } });
const me = (api: TestApi, accessToken: string) =>
  api.request("GET", "/api/me", { token: accessToken });

describe("token-key rotation", () => {
  it("keeps sessions through a new key with the old one previous, and after the old is dropped", async () => {
    const [oldSecret, nextSecret] = [newSecret(), newSecret()];
    const signedIn = await withApi({ JWT_SECRET: oldSecret }, (api) => api.register());
    const oldKid = jwt.decode(signedIn.accessToken, { complete: true })?.header.kid;
    expect(oldKid).toMatch(/^[\w-]{16}$/);

    // Step 1: the new key signs, the old one only verifies.
    const previous = JSON.stringify([{ kid: oldKid, secret: oldSecret }]);
    const rotated = await withApi(
      { JWT_SECRET: nextSecret, JWT_PREVIOUS_KEYS: previous },
      async (api) => {
        expect((await me(api, signedIn.accessToken)).status).toBe(200);
        const result = await refresh(api, signedIn.refreshToken);
        expect(result.status).toBe(200);
        const pair = TokenPairSchema.parse(result.body);
        const header = jwt.decode(pair.accessToken, { complete: true })?.header;
        expect(header?.kid).toBeDefined();
        expect(header?.kid).not.toBe(oldKid);
        expect((await me(api, pair.accessToken)).status).toBe(200);
        return pair;
      },
    );

    // Step 2, an access-token lifetime later: the old key is gone; its tokens are refused, and
    // the client's refresh token still works.
    await withApi({ JWT_SECRET: nextSecret }, async (api) => {
      expectErrorBody(await me(api, signedIn.accessToken), "UNAUTHORIZED");
      expect((await me(api, rotated.accessToken)).status).toBe(200);
      const result = await refresh(api, rotated.refreshToken);
      expect(result.status).toBe(200);
      expect((await me(api, TokenPairSchema.parse(result.body).accessToken)).status).toBe(200);
    });
  });
});

describe("data-key rotation", () => {
  it("upgrades from JWT_SECRET to DATA_KEYS, rotates, re-seals, and opens everything with the old keys dropped", async () => {
    const jwtSecret = newSecret();
    const databaseUrl = database.url;

    // Before DATA_KEYS: sealed under the key JWT_SECRET derives.
    const before = await withApi({ JWT_SECRET: jwtSecret }, async (api) => {
      const session = await api.register();
      const successor = TokenPairSchema.parse((await refresh(api, session.refreshToken)).body);
      return { session, successor };
    });

    // The upgrade: a new key first, the legacy key after it (docs/deployment.md).
    const legacy = (await keysCommand("legacy", { JWT_SECRET: jwtSecret })).trim();
    expect(legacy).toMatch(/^legacy:[\w-]{43}$/);
    const next = newDataKey("2026-12");
    const ring = `${next},${legacy}`;

    await withApi({ JWT_SECRET: jwtSecret, DATA_KEYS: ring }, async (api) => {
      // The successor sealed under the legacy key opens: a replay in the grace window gets it.
      const replay = await refresh(api, before.session.refreshToken);
      expect(replay.status).toBe(200);
      expect(TokenPairSchema.parse(replay.body).refreshToken).toBe(before.successor.refreshToken);
    });

    const output = await keysCommand("reseal", { DATABASE_URL: databaseUrl, DATA_KEYS: ring });
    expect(output).toContain('wechat_session_keys: 1 moved to key "2026-12"');
    expect(output).toContain('refresh_tokens: 1 moved to key "2026-12"');
    // Again: nothing left to move.
    const again = await keysCommand("reseal", { DATABASE_URL: databaseUrl, DATA_KEYS: ring });
    expect(again).toContain("wechat_session_keys: 0 moved");
    expect(again).toContain("refresh_tokens: 0 moved");

    // The legacy key dropped: everything still opens.
    await withApi({ JWT_SECRET: jwtSecret, DATA_KEYS: next }, async (api) => {
      const replay = await refresh(api, before.session.refreshToken);
      expect(replay.status).toBe(200);
      expect(TokenPairSchema.parse(replay.body).refreshToken).toBe(before.successor.refreshToken);
      const row = await api.deps.data.wechatSessionKeys.find(
        api.deps.apps.primary.appid,
        before.session.openid,
      );
      const sealer = new Sealer(api.config.dataKeys, AT_REST_LABELS.wechatSessionKey);
      expect(sealer.keyIdOf(row!.sessionKeyCiphertext)).toBe("2026-12");
      expect(sealer.open(row!.sessionKeyCiphertext)).toMatch(/^[A-Za-z0-9+/=]+$/);
    });

    // And nothing anywhere is still under the legacy key.
    const db = createDatabase(databaseUrl);
    try {
      const rows = await db
        .selectFrom("wechat_session_keys")
        .select("session_key_ciphertext as sealed")
        .unionAll(
          db
            .selectFrom("refresh_tokens")
            .select("successor_ciphertext as sealed")
            .where("successor_ciphertext", "is not", null)
            .$narrowType<{ sealed: string }>(),
        )
        .execute();
      expect(rows.length).toBeGreaterThanOrEqual(2);
      for (const { sealed } of rows) expect(sealed.startsWith("v2.2026-12.")).toBe(true);
    } finally {
      await db.destroy();
    }
  });
});
