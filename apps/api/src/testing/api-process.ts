/*
 * The built API (`node dist/main.js`) as a real child process, as production runs it, signals
 * included: for the API's process tests, the bench and the mini program's end-to-end tests.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { API_ROOT } from "../config.js";
import { answers200, freePort, startNodeProcess, type NodeProcess } from "./node-process.js";

const API_MAIN = path.join(API_ROOT, "dist", "main.js");
/** The API's sources, and the built workspace packages tsup bundles into dist/main.js. */
const INPUT_DIRS = [
  path.join(API_ROOT, "src"),
  path.join(API_ROOT, "..", "..", "packages", "contracts", "dist"),
  path.join(API_ROOT, "..", "..", "packages", "wechat", "dist"),
];

/** The newest mtime of the code that ends up in dist (tests and test tooling excluded). */
function newestInputMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "testing") newest = Math.max(newest, newestInputMtime(full));
    } else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith(".test.ts")) {
      newest = Math.max(newest, statSync(full).mtimeMs);
    }
  }
  return newest;
}

/** Builds dist/main.js when it is missing or older than a source file (a direct `vitest run`). */
export function ensureBuilt(): void {
  let built = 0;
  try {
    built = statSync(API_MAIN).mtimeMs;
  } catch {
    // Not built yet.
  }
  if (built < Math.max(...INPUT_DIRS.map(newestInputMtime))) {
    // Piped, so a failed build throws with its output.
    execFileSync("pnpm", ["exec", "tsup"], { cwd: API_ROOT, stdio: "pipe" });
  }
}

export interface ApiProcess extends NodeProcess {
  url: string;
  /** Process start to the first 200 from /api/health, in ms. */
  startupMs: number;
}

export interface StartApiProcessOptions {
  /** Before the script, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  startTimeoutMs?: number;
}

/**
 * Starts dist/main.js on a free loopback port and resolves once /api/health answers 200, which
 * works at any LOG_LEVEL (info unless `env` says otherwise, so a failure shows the log). The
 * environment is only what is given here, so nothing leaks in from the test run.
 */
export async function startApiProcess(
  env: Record<string, string>,
  { nodeArgs, startTimeoutMs }: StartApiProcessOptions = {},
): Promise<ApiProcess> {
  if (!existsSync(API_MAIN)) {
    throw new Error(
      `${API_MAIN} is missing: build the API first (pnpm --filter @wxauth/api build)`,
    );
  }
  // The API logs the port it took only at info level, so it is given one.
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const api = await startNodeProcess(API_MAIN, {
    name: "the API",
    env: { LOG_LEVEL: "info", ...env, HOST: "127.0.0.1", PORT: String(port) },
    cwd: API_ROOT,
    nodeArgs,
    ready: () => answers200(`${url}/api/health`),
    startTimeoutMs,
  });
  return { ...api, url, startupMs: performance.now() - started };
}

/**
 * Starts `count` instances of the API on one environment, at once (they share a database and
 * migrate it concurrently). When one fails to start, the others are killed and its error thrown.
 */
export async function startApiProcesses(
  count: number,
  env: Record<string, string>,
  options: StartApiProcessOptions = {},
): Promise<ApiProcess[]> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, () => startApiProcess(env, options)),
  );
  const failed = started.find((result) => result.status === "rejected");
  if (!failed) return started.map((result) => (result as PromiseFulfilledResult<ApiProcess>).value);
  for (const result of started) {
    if (result.status === "fulfilled") result.value.child.kill("SIGKILL");
  }
  throw failed.reason as Error;
}

/** Stops each instance still running with SIGTERM and waits for it to exit. */
export async function stopApiProcesses(instances: readonly ApiProcess[]): Promise<void> {
  for (const api of instances) {
    if (api.child.exitCode === null) {
      api.child.kill("SIGTERM");
      await api.exited;
    }
  }
}
