import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../test/harness.js";
import { sqlitePathOf } from "./client.js";
import { directSqlOf } from "./direct-sql.js";
import { WAL_SIZE_LIMIT_BYTES, startWalCheckpointer } from "./wal-checkpointer.js";

const walBytes = (filename: string) => statSync(`${filename}-wal`).size;

describe("WAL checkpoints run on a worker thread, not in a request's COMMIT", () => {
  let api: TestApi;
  let filename: string;
  beforeAll(async () => {
    api = await startTestApi();
    filename = sqlitePathOf(api.config.databaseUrl);
  });
  afterAll(() => api.close());

  it("the API's connection never checkpoints by itself while the worker runs", async () => {
    const [row] = await api.deps.db.$queryRawUnsafe<Array<{ wal_autocheckpoint: unknown }>>(
      "PRAGMA wal_autocheckpoint",
    );
    expect(Number(row?.wal_autocheckpoint)).toBe(0);
  });

  it("a burst of commits is copied back and the log file cut back, with nothing lost", async () => {
    const sql = directSqlOf(api.deps.db)!;
    const insert = "INSERT INTO users (id, openid, created_at, updated_at) VALUES (?, ?, ?, ?)";
    // Faster than any real load (no HTTP in between): the log outgrows the limit meanwhile.
    const commits = 6000;
    for (let i = 0; i < commits; i++) {
      const now = new Date();
      await sql.execute(insert, [`wal-${i}`, `wal-openid-${i}`, now, now]);
    }
    // Then, within a few of the worker's passes, one of the writes that keep coming starts the
    // log afresh and SQLite cuts the file back to the limit.
    const deadline = performance.now() + 20_000;
    let i = 0;
    while (walBytes(filename) > WAL_SIZE_LIMIT_BYTES && performance.now() < deadline) {
      const now = new Date();
      await sql.execute(insert, [`wal-after-${i}`, `wal-after-${i++}`, now, now]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(walBytes(filename)).toBeLessThanOrEqual(WAL_SIZE_LIMIT_BYTES);
    const [row] = await sql.query(
      "SELECT COUNT(*) AS count FROM users WHERE openid LIKE 'wal-openid-%'",
      [],
    );
    expect(row?.count).toBe(commits);
  });
});

describe("the worker itself", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it("reports each pass: after one, every frame in the log has been copied", async () => {
    const settings: number[] = [];
    const checkpointer = startWalCheckpointer({
      filename: sqlitePathOf(api.config.databaseUrl),
      setAutocheckpoint: (pages) => settings.push(pages),
      onProblem: (message) => {
        throw new Error(message);
      },
      intervalMs: 10,
    });
    try {
      const now = new Date();
      await directSqlOf(api.deps.db)!.execute(
        "INSERT INTO users (id, openid, created_at, updated_at) VALUES (?, ?, ?, ?)",
        ["wal-pass", "wal-pass", now, now],
      );
      const pass = await checkpointer.nextPass();
      expect(pass.logFrames).toBeGreaterThan(0);
      expect(pass.checkpointedFrames).toBe(pass.logFrames);
    } finally {
      await checkpointer.stop();
    }
    // Off while it ran; SQLite's default again once it stopped.
    expect(settings).toEqual([0, 1000]);
  });

  it("a worker that dies hands checkpoints back to the connection and says so", async () => {
    const settings: number[] = [];
    const problems: string[] = [];
    let died!: () => void;
    const reported = new Promise<void>((resolve) => (died = resolve));
    const checkpointer = startWalCheckpointer({
      // No such file: the worker cannot open its connection and exits.
      filename: `${sqlitePathOf(api.config.databaseUrl)}.gone`,
      setAutocheckpoint: (pages) => settings.push(pages),
      onProblem: (message) => {
        problems.push(message);
        if (message.includes("checkpoints itself again")) died();
      },
      intervalMs: 10,
    });
    await reported;
    expect(settings).toEqual([0, 1000]);
    expect(problems).toContain(
      "the WAL checkpointer stopped; the connection checkpoints itself again",
    );
    await checkpointer.stop();
  });
});
