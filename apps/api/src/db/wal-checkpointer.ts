import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/*
 * SQLite in WAL mode copies the log back into the database file (a checkpoint) every 1000 pages
 * by default, inside whichever COMMIT crosses the line: on the event loop, with two fsyncs. A
 * login writes about nine pages, so under load every hundredth login or so stalled the whole
 * process for 5-100 ms (bench/sqlite-checkpoints.ts: a login's statements p99 5.6-7.9 ms in line,
 * 0.5-0.7 ms with this worker). Here the main connection checkpoints never, and a
 * worker thread with a connection of its own runs PASSIVE checkpoints, which neither wait for nor
 * block the writer, on the other core.
 *
 * The log only starts afresh when a write finds every frame in it copied. Under steady load a
 * write lands while each pass copies, so no pass ever reaches the end, and the log grew for as
 * long as the load lasted (650 MB in a 10 s bench run, with every page lookup slower for it). So
 * once the log holds RESTART_AT_FRAMES, the connection holds back its statements for one short
 * catch-up pass (the frames written since the last pass, and its fsyncs: 0.1 ms at the median and
 * 4 ms at the 90th percentile under a steady 1300 logins/s); the next write then starts the log
 * afresh.
 */

/** How often the worker looks at the log. At 600 logins/s that is about 1000 pages. */
export const CHECKPOINT_INTERVAL_MS = 200;
/** 16 MiB of log: past it, the next pass asks the connection for a quiet moment to catch up. */
export const RESTART_AT_FRAMES = 4096;
/** A catch-up that has not answered by then (a dead worker) gives the connection back anyway. */
const CATCH_UP_TIMEOUT_MS = 1000;
/**
 * The log file is cut back to this size when it starts afresh (`PRAGMA journal_size_limit`): a
 * burst the worker could not keep up with leaves no lasting file behind.
 */
export const WAL_SIZE_LIMIT_BYTES = 32 * 1024 * 1024;
/** What SQLite's own automatic checkpoint uses, restored when the worker is gone. */
const SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES = 1000;

export interface WalCheckpointer {
  /** Stops the worker; the main connection checkpoints itself again from then on. */
  stop(): Promise<void>;
  /** Resolves after the worker's next pass: the frames in the log and how many it has copied. */
  nextPass(): Promise<{ logFrames: number; checkpointedFrames: number }>;
}

export interface WalCheckpointerOptions {
  filename: string;
  /** Sets the main connection's `PRAGMA wal_autocheckpoint` (0: never checkpoint by itself). */
  setAutocheckpoint(pages: number): void;
  /** Runs `work` while no statement runs on the main connection (its gate held). */
  whileQuiet(work: () => Promise<void>): Promise<void>;
  /** A checkpoint failed, or the worker died (the main connection then checkpoints itself). */
  onProblem(message: string, error?: unknown): void;
  intervalMs?: number;
}

interface WorkerInput {
  driver: string;
  filename: string;
  intervalMs: number;
}

/** A "caught-up" pass is the one run while the connection was quiet. */
type WorkerMessage =
  | { kind: "pass" | "caught-up"; logFrames: number; checkpointedFrames: number }
  | { kind: "failed"; message: string };

/**
 * The worker's whole program (CommonJS; `workerData` is a WorkerInput). It is source text rather
 * than a function's toString(): tsx and esbuild insert helpers into compiled functions that a
 * worker would not have, and a bundled API has no separate file to load.
 *
 * Each pass starts with a read: a connection opened before the database switched to WAL (the API
 * switches it after connecting) sees the log only from its next read on. Frames written while a
 * pass copies are left for the next one. "catch-up" asks for one pass at once, which the main
 * thread sends while its connection is quiet: that pass copies every frame.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Driver = require(workerData.driver);
const db = new Driver(workerData.filename, { fileMustExist: true, timeout: 0 });
const read = db.prepare("SELECT 1 FROM sqlite_schema LIMIT 1");
const passive = db.prepare("PRAGMA wal_checkpoint(PASSIVE)");
let timer;
function checkpoint(kind) {
  try {
    read.get();
    let result = passive.get();
    for (let attempt = 1; attempt < 4 && result.log > result.checkpointed; attempt++) {
      result = passive.get();
    }
    parentPort.postMessage({ kind, logFrames: result.log, checkpointedFrames: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ kind: "failed", message: String(error) });
  }
}
function pass() {
  checkpoint("pass");
  timer = setTimeout(pass, workerData.intervalMs);
}
parentPort.on("message", (message) => {
  if (message === "catch-up") {
    checkpoint("caught-up");
  } else if (message === "stop") {
    clearTimeout(timer);
    db.close();
    parentPort.close();
  }
});
timer = setTimeout(pass, workerData.intervalMs);
`;

/** The better-sqlite3 that Prisma's adapter loads: the worker's connection uses the same build. */
export function sqliteDriverPath(): string {
  const adapter = createRequire(import.meta.url).resolve("@prisma/adapter-better-sqlite3");
  return createRequire(adapter).resolve("better-sqlite3");
}

export function startWalCheckpointer(options: WalCheckpointerOptions): WalCheckpointer {
  const input: WorkerInput = {
    driver: sqliteDriverPath(),
    filename: options.filename,
    intervalMs: options.intervalMs ?? CHECKPOINT_INTERVAL_MS,
  };
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: input });
  // Never what keeps the process alive: the database's own close checkpoints what is left.
  worker.unref();
  options.setAutocheckpoint(0);

  let stopping = false;
  /** Checkpoints back to the main connection; false when it is closed already. */
  const handBack = () => {
    try {
      options.setAutocheckpoint(SQLITE_DEFAULT_AUTOCHECKPOINT_PAGES);
      return true;
    } catch (error) {
      options.onProblem("the WAL checkpointer stopped with the connection closed", error);
      return false;
    }
  };
  let lastFailure: string | undefined;
  const waiting: Array<(pass: { logFrames: number; checkpointedFrames: number }) => void> = [];
  /** Set while the connection is held quiet: ends the hold once the catch-up pass answered. */
  let endQuiet: (() => void) | undefined;
  let catchingUp = false;
  const catchUp = () => {
    catchingUp = true;
    options
      .whileQuiet(
        () =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, CATCH_UP_TIMEOUT_MS);
            endQuiet = () => {
              clearTimeout(timer);
              resolve();
            };
            worker.postMessage("catch-up");
          }),
      )
      .catch((error: unknown) =>
        options.onProblem("could not quiet the connection for a WAL catch-up", error),
      )
      .finally(() => {
        endQuiet = undefined;
        catchingUp = false;
      });
  };
  worker.on("message", (message: WorkerMessage) => {
    if (message.kind === "pass") {
      lastFailure = undefined;
      for (const resolve of waiting.splice(0)) resolve(message);
      if (message.logFrames >= RESTART_AT_FRAMES && !catchingUp && !stopping) catchUp();
      return;
    }
    // The catch-up pass, or a failure: the connection may go on.
    endQuiet?.();
    if (message.kind === "failed" && message.message !== lastFailure) {
      // Once per distinct failure, not every 200 ms while it lasts.
      lastFailure = message.message;
      options.onProblem("a WAL checkpoint failed; the worker tries again", message.message);
    }
  });
  const exited = new Promise<void>((resolve) => {
    worker.on("error", (error) => options.onProblem("the WAL checkpointer failed", error));
    worker.on("exit", () => {
      endQuiet?.();
      if (!stopping && handBack()) {
        options.onProblem("the WAL checkpointer stopped; the connection checkpoints itself again");
      }
      resolve();
    });
  });

  return {
    async stop() {
      if (stopping) return exited;
      stopping = true;
      handBack();
      worker.postMessage("stop");
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    },
    nextPass: () => new Promise((resolve) => waiting.push(resolve)),
  };
}
