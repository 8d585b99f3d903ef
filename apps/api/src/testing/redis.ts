/*
 * Test helpers for the Redis-backed stores: the shared Redis the tests need, throwaway Redis
 * servers for outage tests, and a logger that records what it is given.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import net from "node:net";
import { Redis } from "ioredis";
import type { StoreLogger } from "../stores/resilient-store.js";
import { freePort } from "./node-process.js";

export const TEST_REDIS_HOST = "127.0.0.1";
export const TEST_REDIS_PORT = 6379;
export const TEST_REDIS_URL = `redis://${TEST_REDIS_HOST}:${TEST_REDIS_PORT}`;

/**
 * For tests about something other than timeouts: on a loaded CI machine an event-loop stall longer
 * than the production command timeout would read as a Redis outage and send writes to memory.
 */
export const PATIENT_COMMAND_TIMEOUT_MS = 5000;

/** Sends one inline PING over a raw socket: true when a Redis answers PONG in time. */
export function pingRedis(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = "";
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.on("error", () => finish(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      if (reply.includes("\r\n")) finish(reply.startsWith("+PONG"));
    });
  });
}

/** Call in `beforeAll`: these tests must fail, never skip, when their Redis is missing. */
export async function requireRedis(): Promise<void> {
  if (await pingRedis(TEST_REDIS_HOST, TEST_REDIS_PORT)) return;
  throw new Error(
    `Redis is required at ${TEST_REDIS_HOST}:${TEST_REDIS_PORT} for the shared-store tests, and none answered PING. ` +
      `Start one, e.g. \`redis-server --daemonize yes --bind 127.0.0.1 --port ${TEST_REDIS_PORT} --save ""\`.`,
  );
}

/** A prefix no other test (or concurrent run) uses, so tests never see each other's keys. */
export function randomKeyPrefix(): string {
  return `wxauth-test:${randomUUID()}:`;
}

/** Removes what a test left under its prefix in the shared Redis (some keys live for hours). */
export async function deleteTestKeys(keyPrefix: string): Promise<void> {
  const client = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    const keys = await client.keys(`${keyPrefix}*`);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    await client.quit();
  }
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 25, what = "condition" } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * A private `redis-server` child process that a test may stop and start again on the same port,
 * to play an outage and a recovery without touching the shared Redis.
 */
export class ThrowawayRedis {
  private child: ChildProcess | null = null;

  private constructor(readonly port: number) {}

  static async start(): Promise<ThrowawayRedis> {
    const redis = new ThrowawayRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      "redis-server",
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        // DEBUG SLEEP plays a Redis that is up but too slow to answer.
        "--enable-debug-command",
        "local",
      ],
      { stdio: "ignore" },
    );
    this.child = child;
    const spawnError = new Promise<never>((_, reject) =>
      child.once("error", (error) =>
        reject(new Error(`cannot start redis-server (is it installed?): ${error.message}`)),
      ),
    );
    await Promise.race([
      spawnError,
      waitFor(() => pingRedis("127.0.0.1", this.port, 200), {
        what: `redis-server on port ${this.port}`,
      }),
    ]);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
  }
}

export interface LogEntry {
  level: "info" | "error";
  obj: object;
  msg: string | undefined;
}

export function recordingLogger(): StoreLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (obj, msg) => entries.push({ level: "info", obj, msg }),
    error: (obj, msg) => entries.push({ level: "error", obj, msg }),
  };
}
