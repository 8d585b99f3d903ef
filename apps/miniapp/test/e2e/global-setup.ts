/*
 * The stack the end-to-end tests run against, all real processes over real HTTP: the WeChat
 * sandbox, the built API as its own process on a fresh SQLite file, the H5 build pointed at both
 * (served by a small static server), and a fresh dist/build/mp-weixin.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startSandbox } from "@wxauth/wechat-mock";
import type { TestProject } from "vitest/node";

export interface E2eStack {
  apiUrl: string;
  sandboxUrl: string;
  /** The H5 build, built with VITE_API_BASE_URL and VITE_WECHAT_SANDBOX_URL set to the above. */
  h5Url: string;
  /** dist/build/mp-weixin as `pnpm build:mp-weixin` makes it (API base URL left at its default). */
  mpWeixinDir: string;
  /** The API's JWT_SECRET, so a test can mint an access token that has really expired. */
  jwtSecret: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    stack: E2eStack;
  }
}

const APP_DIR = fileURLToPath(new URL("../..", import.meta.url));
const API_MAIN = path.resolve(APP_DIR, "node_modules/@wxauth/api/dist/main.js");
const UNI_BIN = path.resolve(APP_DIR, "node_modules/.bin/uni");
const START_TIMEOUT_MS = 60_000;

function fail(message: string): never {
  throw new Error(`e2e setup: ${message}`);
}

export function uniBuild(
  args: string[],
  env: Record<string, string>,
  logFile: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile);
    const child = spawn(UNI_BIN, ["build", ...args], {
      cwd: APP_DIR,
      env: { ...process.env, NODE_ENV: "production", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve()
        : reject(
            new Error(
              `uni build ${args.join(" ")} failed (${code}); see ${logFile}:\n${readFileSync(logFile, "utf8").slice(-3000)}`,
            ),
          ),
    );
  });
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".json": "application/json",
};

/** Serves a static directory; unknown paths get index.html (the H5 app routes by hash). */
export async function serveStatic(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    let file = path.join(root, path.normalize(pathname));
    if (!file.startsWith(root) || !existsSync(file) || statSync(file).isDirectory()) {
      file = path.join(root, "index.html");
    }
    res.writeHead(200, {
      "content-type": CONTENT_TYPES[path.extname(file)] ?? "application/octet-stream",
      "cache-control": "no-store",
    });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

interface RunningApi {
  url: string;
  stop(): Promise<void>;
}

export function startApi(env: Record<string, string>, logFile: string): Promise<RunningApi> {
  if (!existsSync(API_MAIN)) {
    fail(`${API_MAIN} is missing: build the API first (pnpm --filter @wxauth/api build)`);
  }
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile);
    const child = spawn(process.execPath, [API_MAIN], {
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<void>((done) => child.once("exit", () => done()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the API did not start within ${START_TIMEOUT_MS} ms; see ${logFile}`));
    }, START_TIMEOUT_MS);
    let output = "";
    child.stderr.pipe(log);
    child.stdout.on("data", (chunk: Buffer) => {
      log.write(chunk);
      output += chunk.toString("utf8");
      const listening = /listening on (http:\/\/[\d.]+:\d+)/.exec(output);
      if (!listening?.[1]) return;
      clearTimeout(timer);
      resolve({
        url: listening[1],
        stop: async () => {
          child.kill("SIGTERM");
          await exited;
        },
      });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `the API exited (${code}) before listening:\n${readFileSync(logFile, "utf8").slice(-3000)}`,
        ),
      );
    });
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), "wxauth-miniapp-e2e-"));
  const cleanups: (() => Promise<void>)[] = [];
  const teardown = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    const sandbox = await startSandbox({ log: () => undefined });
    cleanups.push(() => sandbox.close());

    const h5Dir = path.join(workDir, "h5");
    const h5Server = await serveStatic(h5Dir);
    cleanups.push(() => h5Server.close());

    const jwtSecret = randomBytes(32).toString("hex");
    const api = await startApi(
      {
        NODE_ENV: "test",
        HOST: "127.0.0.1",
        PORT: "0",
        LOG_LEVEL: "info",
        DATABASE_URL: `file:${path.join(workDir, "api.db")}`,
        WECHAT_API_BASE_URL: sandbox.url,
        JWT_SECRET: jwtSecret,
        CORS_ORIGINS: h5Server.url,
      },
      path.join(workDir, "api.log"),
    );
    cleanups.push(() => api.stop());

    const mpWeixinDir = path.join(APP_DIR, "dist/build/mp-weixin");
    await Promise.all([
      uniBuild(
        ["--outDir", h5Dir],
        { VITE_API_BASE_URL: api.url, VITE_WECHAT_SANDBOX_URL: sandbox.url },
        path.join(workDir, "build-h5.log"),
      ),
      uniBuild(["-p", "mp-weixin"], {}, path.join(workDir, "build-mp-weixin.log")),
    ]);

    project.provide("stack", {
      apiUrl: api.url,
      sandboxUrl: sandbox.url,
      h5Url: h5Server.url,
      mpWeixinDir,
      jwtSecret,
    });
    return teardown;
  } catch (error) {
    await teardown();
    throw error;
  }
}
