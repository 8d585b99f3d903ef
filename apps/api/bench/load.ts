/*
 * One load scenario at a time: autocannon, fixed connections and duration, after a warm-up that
 * is not counted. Peak RSS is taken from the process under load over the measured stretch only.
 */
import autocannon, { type RequestSpec, type Result } from "autocannon";
import { processMeter } from "./processes.js";

export const CONNECTIONS = 50;
export const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
export const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);

export interface Figures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors and timeouts. */
  errors: number;
  non2xx: number;
  ok: number;
  peakRssBytes: number;
  /** CPU time the server process spent per answered request, in ms. */
  cpuMsPerRequest: number;
  /** CPU time the VM's host took back meanwhile, in % of the machine (see processMeter). */
  stealPercent: number;
}

function run(
  url: string,
  requests: RequestSpec[],
  durationS: number,
  connections: number,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections, duration: durationS, timeout: 10, requests }, (error, result) =>
      error ? reject(error) : resolve(result),
    );
  });
}

/** A warm-up, not counted; its request rate sizes the pools of the measured run. */
export async function warmUp(
  url: string,
  requests: RequestSpec[],
  connections = CONNECTIONS,
): Promise<number> {
  const result = await run(url, requests, WARMUP_S, connections);
  return result.requests.total / WARMUP_S;
}

export async function measure(
  url: string,
  requests: RequestSpec[],
  pid: number,
  connections = CONNECTIONS,
): Promise<Figures> {
  const meter = processMeter(pid);
  const result = await run(url, requests, DURATION_S, connections);
  const usage = meter.stop();
  return {
    // Only 2xx answers count: a fast stream of errors is not throughput.
    requestsPerSecond: result["2xx"] / (result.duration || DURATION_S),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    ok: result["2xx"],
    peakRssBytes: usage.peakRssBytes,
    stealPercent: usage.stealPercent,
    cpuMsPerRequest: usage.cpuMs / Math.max(1, result.requests.total),
  };
}
