/*
 * Latency at a given request rate. autocannon keeps every connection busy (a closed loop): with 50
 * connections the mean latency is 50 / throughput whatever the server does (Little's law), so its
 * p99 describes the queue the load generator builds, not how long a login takes. Its own rate
 * option sends each second's quota in a burst at the top of the second. Here requests arrive as a
 * Poisson stream at a fixed rate, independent of the answers (an open loop), over a keep-alive
 * pool of up to 50 connections, and each latency is counted from the moment its request was due:
 * a request that waited for a free connection or behind a slow answer carries that wait.
 *
 * The requests go out through undici's Pool rather than `node:http`: the load generator shares
 * the machine's two cores with the API, so its own CPU and GC pauses are in every latency it
 * counts, and undici spends about half the CPU per request (bench/http-clients.ts). For the same
 * reason the load generator's own major collections must stay out of the measured window: this
 * process holds every scenario's pools, and each one paused it 13-29 ms, a cluster of late logins
 * behind every pause. So the measured run starts after a full collection (`pnpm bench` runs
 * with `--expose-gc`), and with a young generation four times Node's default
 * (`--max-semi-space-size=64`), which promotes less meanwhile. Each run reports the collections
 * that still landed in it (`ownGc`).
 */
import { type PerformanceEntry, PerformanceObserver, constants } from "node:perf_hooks";
import { Pool } from "undici";
import { CONNECTIONS, DURATION_S, WARMUP_S, type Figures } from "./load.js";
import { processMeter } from "./processes.js";

export interface PacedRequest {
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  /** Called when the request is due; undefined when its pool of inputs ran dry. */
  body?: () => string | undefined;
}

interface Outcome {
  latenciesMs: number[];
  ok: number;
  non2xx: number;
  errors: number;
  dry: number;
}

/**
 * The load generator's own garbage collections while it measured: each pause is in every latency
 * it counts.
 */
export interface OwnGc {
  majors: number;
  longestPauseMs: number;
}

function watchOwnGc(): () => OwnGc {
  const seen: OwnGc = { majors: 0, longestPauseMs: 0 };
  const count = (entries: PerformanceEntry[]) => {
    for (const entry of entries) {
      // A "gc" entry's detail says which collector ran (Node >= 16).
      const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
      if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) seen.majors++;
      seen.longestPauseMs = Math.max(seen.longestPauseMs, entry.duration);
    }
  };
  const observer = new PerformanceObserver((list) => count(list.getEntries()));
  observer.observe({ entryTypes: ["gc"] });
  return () => {
    count(observer.takeRecords());
    observer.disconnect();
    return seen;
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** An answer not complete by then counts as an error. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Exponential gaps: the arrivals of many independent users, not a metronome. */
const nextGapMs = (ratePerS: number) => (-Math.log(1 - Math.random()) / ratePerS) * 1000;

function send(pool: Pool, spec: PacedRequest, body: string | undefined): Promise<number> {
  return pool
    .request({
      method: spec.method,
      path: spec.path,
      headers: {
        ...spec.headers,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    })
    .then(async (response) => {
      await response.body.dump();
      return response.statusCode;
    });
}

async function runPaced(
  baseUrl: string,
  spec: PacedRequest,
  ratePerS: number,
  durationS: number,
  connections: number,
): Promise<Outcome> {
  // A connection left idle is closed here after 4 s, before the API's 5 s keep-alive timeout
  // (Node's default) closes it from its side: otherwise a burst that picks up a connection the
  // server is closing at that moment fails with ECONNRESET, the load generator's error, not the
  // API's (a 30 s run saw six).
  const pool = new Pool(baseUrl, {
    connections,
    keepAliveTimeout: 4000,
    keepAliveMaxTimeout: 4000,
  });
  const outcome: Outcome = { latenciesMs: [], ok: 0, non2xx: 0, errors: 0, dry: 0 };
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  const end = start + durationS * 1000;
  let due = start;

  const fire = (dueAt: number) => {
    const body = spec.body?.();
    if (spec.body && body === undefined) {
      outcome.dry++;
      return;
    }
    const exchange = send(pool, spec, body).then(
      (status) => {
        outcome.latenciesMs.push(performance.now() - dueAt);
        if (status >= 200 && status < 300) outcome.ok++;
        else outcome.non2xx++;
      },
      () => {
        outcome.errors++;
      },
    );
    const tracked = exchange.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // Everything due by now goes out now: a late timer must not thin out the arrivals.
      while (due <= now && due < end) {
        fire(due);
        due += nextGapMs(ratePerS);
      }
      if (due >= end) resolve();
      else setTimeout(tick, Math.max(0, due - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  await pool.close();
  return outcome;
}

/**
 * A warm-up at the same rate (not counted), then `DURATION_S` measured. Inputs that ran dry are
 * reported as `dry`, and the caller sizes its pool so that none do.
 */
export async function measurePaced(
  url: string,
  spec: PacedRequest,
  ratePerS: number,
  pid: number,
  connections = CONNECTIONS,
): Promise<Figures & { dry: number; ownGc: OwnGc }> {
  await runPaced(url, spec, ratePerS, WARMUP_S, connections);
  (globalThis as { gc?: () => void }).gc?.();
  const meter = processMeter(pid);
  const ownGc = watchOwnGc();
  const outcome = await runPaced(url, spec, ratePerS, DURATION_S, connections);
  const usage = meter.stop();
  const sorted = outcome.latenciesMs.sort((a, b) => a - b);
  const answered = outcome.ok + outcome.non2xx;
  return {
    requestsPerSecond: outcome.ok / DURATION_S,
    p50Ms: Math.round(percentile(sorted, 50) * 10) / 10,
    p99Ms: Math.round(percentile(sorted, 99) * 10) / 10,
    errors: outcome.errors,
    non2xx: outcome.non2xx,
    ok: outcome.ok,
    peakRssBytes: usage.peakRssBytes,
    stealPercent: usage.stealPercent,
    cpuMsPerRequest: usage.cpuMs / Math.max(1, answered),
    dry: outcome.dry,
    ownGc: ownGc(),
  };
}
