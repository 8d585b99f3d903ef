/*
 * The processes under measurement: the built API, the WeChat sandbox and Express hello, each a
 * separate `node` on loopback, as they would run in production (no tsx, no test runner).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const API_ROOT = path.resolve(BENCH_DIR, "..");
export const REPO_ROOT = path.resolve(API_ROOT, "../..");

const API_MAIN = path.join(API_ROOT, "dist", "main.js");
const SANDBOX_MAIN = path.join(REPO_ROOT, "apps", "wechat-mock", "dist", "main.js");
const HELLO_MAIN = path.join(BENCH_DIR, "express-hello.mjs");

export interface Child {
  url: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (the API logs its port only at info level). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function launch(script: string, env: Record<string, string>, cwd: string, nodeArgs: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = once(child, "exit");
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { child, output: () => output, stop };
}

/** Polls until `ready()` holds; fails with the child's output if it exits or takes too long. */
async function waitFor(
  name: string,
  launched: ReturnType<typeof launch>,
  ready: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (await ready()) return;
    if (launched.child.exitCode !== null || Date.now() - started > timeoutMs) {
      await launched.stop();
      throw new Error(
        `${name} did not start (exit ${launched.child.exitCode}):\n${launched.output()}`,
      );
    }
    await pause(10);
  }
}

async function answers200(url: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

export async function startSandbox(): Promise<Child> {
  const launched = launch(SANDBOX_MAIN, { PORT: "0", HOST: "127.0.0.1" }, REPO_ROOT);
  let url = "";
  await waitFor("the WeChat sandbox", launched, async () => {
    url = /wechat-mock listening on (\S+)/.exec(launched.output())?.[1] ?? "";
    return url !== "";
  });
  return { url, process: launched.child, output: launched.output, stop: launched.stop };
}

export async function startExpressHello(): Promise<Child> {
  const port = await freePort();
  const launched = launch(HELLO_MAIN, { PORT: String(port) }, API_ROOT);
  const url = `http://127.0.0.1:${port}`;
  await waitFor("Express hello", launched, () => answers200(`${url}/hello`));
  return { url, process: launched.child, output: launched.output, stop: launched.stop };
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
  const port = await freePort();
  const started = performance.now();
  const apiEnv = { ...env, HOST: "127.0.0.1", PORT: String(port) };
  const launched = launch(API_MAIN, apiEnv, API_ROOT, nodeArgs);
  const url = `http://127.0.0.1:${port}`;
  await waitFor("the API", launched, () => answers200(`${url}/api/health`));
  const startupMs = performance.now() - started;
  return { url, startupMs, process: launched.child, output: launched.output, stop: launched.stop };
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
  let sampled = kib("VmRSS");
  const sampler = setInterval(() => (sampled = Math.max(sampled, kib("VmRSS"))), 100);
  return {
    stop() {
      clearInterval(sampler);
      const peakKib = highWaterReset ? Math.max(kib("VmHWM"), sampled) : sampled;
      return { peakRssBytes: peakKib * 1024, cpuMs: cpuTimeMs(pid) - cpuAtStart };
    },
  };
}
