import { randomBytes } from "node:crypto";
import { Sealer, type DataKey } from "@wxauth/wechat";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AT_REST_LABELS } from "../auth/at-rest-cipher.js";
import { createDatabase, type Database } from "../db/client.js";
import { formatDataKey } from "./data-keys.js";
import {
  createSuiteDatabase,
  startTestApi,
  type SuiteDatabase,
  type TestApi,
} from "../testing/harness.js";
import { resealAll, type SealedColumn } from "./reseal.js";
import { createSealedColumns } from "./reseal-store.js";

const dataKey = (id: string): DataKey => ({ id, key: randomBytes(32) });
const old = dataKey("old");
const next = dataKey("next");

let database: SuiteDatabase;
let api: TestApi;
let db: Database;
/** Users signed up (session_key sealed) and refreshed once (successor sealed) under `old`. */
let users: Awaited<ReturnType<TestApi["register"]>>[];
beforeAll(async () => {
  database = await createSuiteDatabase();
  api = await startTestApi({
    env: { DATABASE_URL: database.url, DATA_KEYS: formatDataKey(old) },
  });
  users = [];
  for (let i = 0; i < 3; i++) users.push(await api.register());
  for (const user of users) {
    await api.request("POST", "/api/auth/refresh", { body: { refreshToken: user.refreshToken } });
  }
  db = createDatabase(database.url);
});
afterAll(async () => {
  await db?.destroy();
  await api?.close();
  await database?.drop();
});

const sealedValues = async () => [
  ...(await db.selectFrom("wechat_session_keys").select("session_key_ciphertext as v").execute()),
  ...(await db
    .selectFrom("refresh_tokens")
    .select("successor_ciphertext as v")
    .where("successor_ciphertext", "is not", null)
    .$narrowType<{ v: string }>()
    .execute()),
];

describe("resealAll over the database's sealed columns", () => {
  it("leaves values under a key the ring lacks as they are, and counts them unreadable", async () => {
    const before = await sealedValues();
    const reports = await resealAll(createSealedColumns(db), [next]);
    expect(reports).toEqual([
      { table: "wechat_session_keys", moved: 0, current: 0, changedMeanwhile: 0, unreadable: 3 },
      { table: "refresh_tokens", moved: 0, current: 0, changedMeanwhile: 0, unreadable: 3 },
    ]);
    expect(await sealedValues()).toEqual(before);
  });

  it("skips a value the API rewrote between reading and writing it", async () => {
    const [column] = createSealedColumns(db);
    const user = users[0]!;
    const row = await api.deps.data.wechatSessionKeys.find(
      api.deps.apps.primary.appid,
      user.openid,
    );
    // A sign-in of that user lands just before re-sealing writes its row.
    const racing: SealedColumn = {
      ...column!,
      async replace(id, sealed, resealed) {
        if (id === row!.id) await api.login((await api.loginCode({ openid: user.openid })).code);
        return column!.replace(id, sealed, resealed);
      },
    };
    const [report] = await resealAll([racing], [next, old], 2);
    expect(report).toMatchObject({ moved: 2, changedMeanwhile: 1, unreadable: 0 });
    // The sign-in's value stands (sealed under `old`: the API still runs with it first).
    const after = await api.deps.data.wechatSessionKeys.find(
      api.deps.apps.primary.appid,
      user.openid,
    );
    expect(after!.sessionKeyCiphertext).not.toBe(row!.sessionKeyCiphertext);
    expect(after!.sessionKeyCiphertext.startsWith("v2.old.")).toBe(true);
  });

  it("re-seals every value under the first key, in batches, and leaves them alone after", async () => {
    const reports = await resealAll(createSealedColumns(db), [next, old], 2);
    expect(reports).toEqual([
      // One moved by the test before, whose sign-in then wrote it under `old` again.
      { table: "wechat_session_keys", moved: 1, current: 2, changedMeanwhile: 0, unreadable: 0 },
      { table: "refresh_tokens", moved: 3, current: 0, changedMeanwhile: 0, unreadable: 0 },
    ]);
    const values = await sealedValues();
    expect(values).toHaveLength(6);
    // Everything opens with `old` dropped.
    const sessionKeys = new Sealer([next], AT_REST_LABELS.wechatSessionKey);
    const successors = new Sealer([next], AT_REST_LABELS.refreshTokenSuccessor);
    for (const { v } of values.slice(0, 3)) expect(sessionKeys.open(v)).toBeTruthy();
    for (const { v } of values.slice(3)) expect(successors.open(v)).toBeTruthy();

    const again = await resealAll(createSealedColumns(db), [next, old], 2);
    expect(again.map(({ moved, current }) => ({ moved, current }))).toEqual([
      { moved: 0, current: 3 },
      { moved: 0, current: 3 },
    ]);
  });
});
