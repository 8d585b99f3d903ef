/*
 * The built API (dist/main.js) as a real child process: what production runs, signals included.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { API_ROOT } from "../config.js";

const MAIN_JS = path.join(API_ROOT, "dist", "main.js");
/** The API's sources, and the built workspace packages tsup bundles into dist/main.js. */
const INPUT_DIRS = [
  path.join(API_ROOT, "src"),
  path.join(API_ROOT, "..", "..", "packages", "contracts", "dist"),
  path.join(API_ROOT, "..", "..", "packages", "wechat", "dist"),
];

/** The newest mtime of the code that ends up in dist (tests and generated code excluded). */
function newestInputMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "generated") newest = Math.max(newest, newestInputMtime(full));
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
    built = statSync(MAIN_JS).mtimeMs;
  } catch {
    // Not built yet.
  }
  if (built < Math.max(...INPUT_DIRS.map(newestInputMtime))) {
    // Piped, so a failed build throws with its output.
    execFileSync("pnpm", ["exec", "tsup"], { cwd: API_ROOT, stdio: "pipe" });
  }
}

/** The port main.ts logs once it listens (`{"port":..., "msg":"wxauth API listening on ..."}`). */
function listeningPort(output: string): number | undefined {
  for (const line of output.split("\n")) {
    if (!line.includes("API listening")) continue;
    try {
      const { port } = JSON.parse(line) as { port?: unknown };
      if (typeof port === "number") return port;
    } catch {
      // A partly written line: the next poll sees all of it.
    }
  }
  return undefined;
}

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote so far (JSON log lines and any crash output). */
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/**
 * Starts `node dist/main.js` on an ephemeral port (PORT=0) and resolves once it logs the port it
 * listens on. The environment is only what is given here, so nothing leaks in from the test run.
 */
export async function startApiProcess(
  env: Record<string, string>,
  { startTimeoutMs = 30_000 } = {},
): Promise<ApiProcess> {
  const child = spawn(process.execPath, [MAIN_JS], {
    cwd: API_ROOT,
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = once(child, "exit").then(([code]) => code as number | null);

  const started = Date.now();
  for (;;) {
    const port = listeningPort(output);
    if (port) return { url: `http://127.0.0.1:${port}`, child, output: () => output, exited };
    if (child.exitCode !== null || Date.now() - started > startTimeoutMs) {
      child.kill("SIGKILL");
      throw new Error(`the API did not start (exit ${child.exitCode}):\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
