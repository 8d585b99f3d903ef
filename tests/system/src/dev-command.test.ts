/**
 * `pnpm dev` on a fresh clone: the sandbox, the API, the H5 app and the mp-weixin watch build come up
 * from one command, a sandbox login goes through the API, and Ctrl-C stops all of it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AuthenticatedSchema,
  RegistrationRequiredSchema,
  WechatLoginResponseSchema,
} from "@wxauth/contracts";
import {
  SANDBOX_APPID,
  SandboxLoginCodeResponseSchema,
  SandboxPhoneCodeResponseSchema,
} from "@wxauth/contracts/sandbox";
import { freePort } from "@wxauth/api/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const mpWeixinDir = join(repo, "apps/miniapp/dist/dev/mp-weixin");

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolveClosed) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolveClosed(false);
    });
    socket.once("error", () => resolveClosed(true));
  });
}

async function postJson(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

describe("pnpm dev", () => {
  const urls = { sandbox: "", api: "", h5: "", admin: "" };
  const ports = { sandbox: 0, api: 0, h5: 0, admin: 0, database: 0 };
  let dev: ChildProcess;
  let dataDir = "";
  let output = "";
  let exitCode: number | null | undefined;
  let markExited: () => void = () => {};
  const exited = new Promise<void>((resolveExit) => (markExited = resolveExit));

  beforeAll(async () => {
    Object.assign(ports, {
      sandbox: await freePort(),
      api: await freePort(),
      h5: await freePort(),
      admin: await freePort(),
      database: await freePort(),
    });
    urls.sandbox = `http://127.0.0.1:${ports.sandbox}`;
    urls.api = `http://127.0.0.1:${ports.api}`;
    urls.h5 = `http://localhost:${ports.h5}`;
    urls.admin = `http://localhost:${ports.admin}`;
    dataDir = mkdtempSync(join(tmpdir(), "wxauth-dev-test-"));
    rmSync(mpWeixinDir, { recursive: true, force: true });
    dev = spawn("pnpm", ["dev"], {
      cwd: repo,
      detached: true, // its own process group, so the test can press "Ctrl-C" on all of it
      env: {
        ...process.env,
        DEV_SANDBOX_PORT: String(ports.sandbox),
        DEV_API_PORT: String(ports.api),
        DEV_H5_PORT: String(ports.h5),
        DEV_ADMIN_PORT: String(ports.admin),
        DEV_METRICS_PORT: String(await freePort()),
        // No DATABASE_URL: the embedded PostgreSQL, on a free port, its data in a folder of its own.
        DATABASE_URL: "",
        DEV_DATABASE_PORT: String(ports.database),
        DEV_DATABASE_DIR: join(dataDir, "pglite"),
        // turbo built every package before this test (its ^build); a second build here would
        // rewrite apps/api/dist under the API's own running tests.
        DEV_SKIP_BUILD: "1",
        FORCE_COLOR: "0",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    dev.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    dev.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    dev.once("exit", (code) => {
      exitCode = code;
      markExited();
    });

    const deadline = Date.now() + 240_000;
    while (!output.includes("Ctrl-C stops everything")) {
      if (exitCode !== undefined) throw new Error(`pnpm dev exited early:\n${output.slice(-3000)}`);
      if (Date.now() > deadline)
        throw new Error(`pnpm dev did not come up:\n${output.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 300_000);

  afterAll(() => {
    if (exitCode === undefined && dev?.pid) process.kill(-dev.pid, "SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("says where each of the parts is, all ready", () => {
    const banner = output.slice(output.indexOf("wxauth dev is running"));
    expect(banner).toMatch(/\[ready \] WeChat sandbox/);
    expect(banner).toMatch(/\[ready \] PostgreSQL .*embedded PGlite/);
    expect(banner).toMatch(/\[ready \] API/);
    expect(banner).toMatch(/\[ready \] H5 app/);
    expect(banner).toMatch(/\[ready \] mp-weixin/);
    expect(banner).toMatch(/\[ready \] admin console .*operator dev, password [\w-]{24}\)/);
    expect(banner).not.toContain("NOT UP");
  });

  it("serves the H5 app and writes the mp-weixin build for WeChat DevTools", async () => {
    const page = await fetch(urls.h5);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    const appJson = JSON.parse(readFileSync(join(mpWeixinDir, "app.json"), "utf8")) as {
      pages: string[];
    };
    expect(appJson.pages).toEqual(expect.arrayContaining(["pages/login/login", "pages/me/me"]));
    expect(existsSync(join(mpWeixinDir, "project.config.json"))).toBe(true);
  });

  it("logs a new user in through the sandbox and registers them with a phone", async () => {
    const minted = await postJson(`${urls.sandbox}/__dev/login-code`, {});
    const { code, openid } = SandboxLoginCodeResponseSchema.parse(minted.body);
    // The API serves both sandbox apps: a login names its own.
    const login = await postJson(`${urls.api}/api/auth/wechat/login`, {
      code,
      appid: SANDBOX_APPID,
    });
    expect(login.status).toBe(200);
    const ticket = RegistrationRequiredSchema.parse(WechatLoginResponseSchema.parse(login.body));
    const phone = await postJson(`${urls.sandbox}/__dev/phone-code`, {
      phoneNumber: "13800138000",
      openid,
    });
    const register = await postJson(`${urls.api}/api/auth/wechat/register`, {
      registrationTicket: ticket.registrationTicket,
      phoneCode: SandboxPhoneCodeResponseSchema.parse(phone.body).code,
    });
    expect(register.status).toBe(201);
    expect(AuthenticatedSchema.parse(register.body).user.phone).toBe("+8613800138000");
    // That account is in the embedded PostgreSQL's folder.
    expect(existsSync(join(dataDir, "pglite", "PG_VERSION"))).toBe(true);
  });

  it("serves the console, whose dev operator signs in through its proxy with the printed password", async () => {
    const password = /operator dev, password ([\w-]{24})\)/.exec(output)?.[1];
    expect((await fetch(urls.admin)).status).toBe(200);
    const signIn = await postJson(`${urls.admin}/api/admin/session`, { name: "dev", password });
    expect(signIn.status).toBe(200);
    expect(signIn.body).toMatchObject({
      operator: { name: "dev", role: "admin" },
      passwordChangeRequired: false,
    });
  });

  it("points each sandbox app's message push at the API's push route, the second in safe mode", async () => {
    for (const appid of ["wxsandbox0000000001", "wxsandbox0000000002"]) {
      const pushed = await postJson(`${urls.sandbox}/__dev/push-event`, {
        appid,
        message: { Event: "dev_command_check" },
      });
      expect(pushed.body).toEqual({ deliveries: [{ status: 200, answer: "success", ok: true }] });
    }
    const pushes = await (await fetch(`${urls.sandbox}/__dev/pushes`)).json();
    expect(pushes).toMatchObject({
      pushes: expect.arrayContaining([
        expect.objectContaining({ appid: "wxsandbox0000000001", encrypted: false, ok: true }),
        expect.objectContaining({ appid: "wxsandbox0000000002", encrypted: true, ok: true }),
      ]),
    });
  });

  it("stops everything on Ctrl-C", async () => {
    process.kill(-dev.pid!, "SIGINT");
    const stoppedInTime = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 30_000)),
    ]);
    expect(stoppedInTime, output.slice(-2000)).toBe(true);
    for (const port of Object.values(ports)) {
      expect(await portIsClosed(port), `port ${port} still open`).toBe(true);
    }
  });
});
