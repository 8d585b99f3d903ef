/*
 * The processes under measurement: the built API, the WeChat sandbox and Express hello, each a
 * separate `node` on loopback, as they would run in production (no tsx, no test runner).
 */
import type { ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { API_ROOT } from "../src/config.js";
import { startApiProcess } from "../src/testing/api-process.js";
import {
  answers200,
  freePort,
  startNodeProcess,
  type NodeProcess,
} from "../src/testing/node-process.js";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(API_ROOT, "../..");

const SANDBOX_MAIN = path.join(REPO_ROOT, "apps", "wechat-mock", "dist", "main.js");
const HELLO_MAIN = path.join(BENCH_DIR, "express-hello.mjs");

export interface Child {
  url: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** What run.ts works with: the pid under `process`, and a stop() that resolves to nothing. */
function benchChild(url: string, running: NodeProcess): Child {
  return {
    url,
    process: running.child,
    output: running.output,
    stop: async () => void (await running.stop()),
  };
}

export async function startSandbox(): Promise<Child> {
  let url = "";
  const sandbox = await startNodeProcess(SANDBOX_MAIN, {
    name: "the WeChat sandbox",
    env: { PORT: "0", HOST: "127.0.0.1" },
    cwd: REPO_ROOT,
    ready: (output) => {
      url = /wechat-mock listening on (\S+)/.exec(output)?.[1] ?? "";
      return url !== "";
    },
  });
  return benchChild(url, sandbox);
}

export async function startExpressHello(): Promise<Child> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const hello = await startNodeProcess(HELLO_MAIN, {
    name: "Express hello",
    env: { PORT: String(port) },
    cwd: API_ROOT,
    ready: () => answers200(`${url}/hello`),
  });
  return benchChild(url, hello);
}

export interface ApiChild extends Child {
  /** Process start to the first 200 from /api/health, in ms. */
  startupMs: number;
}

/** `node dist/main.js` on loopback; resolves once /api/health answers 200. */
export async function startApi(
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<ApiChild> {
  const api = await startApiProcess(env, { nodeArgs });
  return { ...benchChild(api.url, api), startupMs: api.startupMs };
}

/** CPU time (user + system) a process has used so far, in ms; /proc counts in 1/100 s ticks. */
function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The fields after the parenthesised command name; utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export interface ProcessUsage {
  peakRssBytes: number;
  cpuMs: number;
  /** The share of the machine's CPU time stolen by the hypervisor meanwhile, in %. */
  stealPercent: number;
}

/**
 * What a process used over a stretch of time: its CPU time (which, unlike throughput, does not
 * depend on what else the machine is running) and its peak resident memory. Writing "5" to
 * clear_refs resets the kernel's high-water mark (VmHWM), so each stretch gets its own peak;
 * where that is refused, VmRSS is sampled instead.
 */
export function processMeter(pid: number): { stop(): ProcessUsage } {
  const status = () => readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status())?.[1] ?? 0);
  let highWaterReset = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    highWaterReset = false;
  }
  const cpuAtStart = cpuTimeMs(pid);
  const machineAtStart = machineCpuTicks();
  let sampled = kib("VmRSS");
  const sampler = setInterval(() => (sampled = Math.max(sampled, kib("VmRSS"))), 100);
  return {
    stop() {
      clearInterval(sampler);
      const peakKib = highWaterReset ? Math.max(kib("VmHWM"), sampled) : sampled;
      const machine = machineCpuTicks();
      const totalTicks = machine.total - machineAtStart.total;
      return {
        peakRssBytes: peakKib * 1024,
        cpuMs: cpuTimeMs(pid) - cpuAtStart,
        stealPercent:
          totalTicks > 0 ? (100 * (machine.steal - machineAtStart.steal)) / totalTicks : 0,
      };
    },
  };
}

/**
 * All CPUs' time so far in /proc/stat ticks, and the part of it the hypervisor gave to other
 * machines ("steal"): on a VM, time this one wanted to run and could not.
 */
function machineCpuTicks(): { total: number; steal: number } {
  const fields =
    readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1) ?? [];
  const ticks = fields.map(Number);
  return { total: ticks.reduce((sum, n) => sum + n, 0), steal: ticks[7] ?? 0 };
}

const REFERENCE_LOGIN_MAIN = path.join(BENCH_DIR, "reference-login.mjs");

/** The minimal reference login on `env`'s database and WeChat sandbox. */
export async function startReferenceLogin(
  env: Record<string, string>,
  nodeArgs: string[] = [],
): Promise<Child> {
  const port = await freePort();
  const reference = await startNodeProcess(REFERENCE_LOGIN_MAIN, {
    name: "the reference login",
    env: { ...env, PORT: String(port) },
    nodeArgs,
    cwd: API_ROOT,
    ready: (output) => output.includes("reference login listening"),
  });
  return benchChild(`http://127.0.0.1:${port}`, reference);
}
