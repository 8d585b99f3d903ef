/*
 * A `node` script as a real child process on loopback, for tests and the bench: its output is kept
 * for error messages, and stop() does what an orchestrator does (SIGTERM, then SIGKILL).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";

export interface NodeProcess {
  child: ChildProcess;
  /** Everything the process wrote so far, stdout and stderr as they came. */
  output(): string;
  /** Resolves with the exit code once the process has exited and its output is all read. */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if it is still running after the grace period; resolves as `exited`. */
  stop(): Promise<number | null>;
}

export interface StartNodeProcessOptions {
  /** In error messages: "the API did not start". */
  name: string;
  /** The environment besides PATH: nothing leaks in from the test run. */
  env: Record<string, string>;
  cwd: string;
  /** Before the script, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Polled until it holds, with the output so far. */
  ready(output: string): boolean | Promise<boolean>;
  startTimeoutMs?: number;
  stopGraceMs?: number;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `ready` holds; fails with the child's output if it exits or takes too long. */
export async function startNodeProcess(
  script: string,
  {
    name,
    env,
    cwd,
    nodeArgs = [],
    ready,
    // A loaded 2-core machine with other suites running.
    startTimeoutMs = 60_000,
    stopGraceMs = 10_000,
  }: StartNodeProcessOptions,
): Promise<NodeProcess> {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  // "close", not "exit": a crash's last words on stderr are read by then.
  const exited = once(child, "close").then(([code]) => code as number | null);
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (running()) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), stopGraceMs);
      await exited;
      clearTimeout(timer);
    }
    return exited;
  };

  const deadline = Date.now() + startTimeoutMs;
  while (!(await ready(output))) {
    if (!running() || Date.now() > deadline) {
      const why = running() ? `not ready within ${startTimeoutMs} ms` : "exited";
      child.kill("SIGKILL");
      const code = await exited;
      throw new Error(`${name} did not start (${why}, exit code ${code}):\n${output}`);
    }
    await pause(10);
  }
  return { child, output: () => output, exited, stop };
}

/** A loopback port nobody listens on right now, for a process that does not say which it took. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no free port");
  return address.port;
}

/** Whether GET `url` answers 200; a refused or hanging connection is a no. */
export async function answers200(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}
