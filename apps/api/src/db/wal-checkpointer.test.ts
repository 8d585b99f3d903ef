import { closeSync, openSync, readSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApi, type TestApi } from "../testing/harness.js";
import { sqlitePathOf } from "./client.js";
import { directSqlOf } from "./direct-sql.js";
import { WAL_SIZE_LIMIT_BYTES, startWalCheckpointer } from "./wal-checkpointer.js";

const walBytes = (filename: string) => statSync(`${filename}-wal`).size;

/** The log header's checkpoint sequence number: SQLite adds one each time the log starts afresh. */
function walGeneration(filename: string): number {
  const header = Buffer.alloc(16);
  const fd = openSync(`${filename}-wal`, "r");
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  return header.readUInt32BE(12);
}

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

  it("under writes that never pause, the log still starts afresh and stays bounded", async () => {
    // A busy API commits every fraction of a millisecond, so no pass of the worker reaches the end
    // of the log. Unless the connection makes room for one, the log grows for as long as the load
    // lasts (650 MB in a 10 s bench run before that was fixed).
    const sql = directSqlOf(api.deps.db)!;
    const insert = "INSERT INTO users (id, openid, created_at, updated_at) VALUES (?, ?, ?, ?)";
    const [before] = await sql.query("SELECT COUNT(*) AS count FROM users", []);
    const generation = walGeneration(filename);
    let largest = 0;
    let commits = 0;
    const until = performance.now() + 3000;
    while (performance.now() < until && largest <= 2 * WAL_SIZE_LIMIT_BYTES) {
      // About the API's busiest: a few commits in each turn of the event loop, no idle gap.
      for (let i = 0; i < 5; i++) {
        const now = new Date();
        await sql.execute(insert, [`busy-${commits}`, `busy-openid-${commits}`, now, now]);
        commits++;
      }
      await new Promise((resolve) => setTimeout(resolve, 0));
      largest = Math.max(largest, walBytes(filename));
    }
    expect(largest).toBeLessThanOrEqual(2 * WAL_SIZE_LIMIT_BYTES);
    // Started afresh over and over while the writes went on.
    expect(walGeneration(filename) - generation).toBeGreaterThanOrEqual(3);
    const [after] = await sql.query("SELECT COUNT(*) AS count FROM users", []);
    expect(Number(after?.count) - Number(before?.count)).toBe(commits);
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
      whileQuiet: (work) => work(),
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
      whileQuiet: (work) => work(),
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
