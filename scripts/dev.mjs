#!/usr/bin/env node
// `pnpm dev`: the WeChat and SMS sandbox, the embedded PostgreSQL, the API, the H5 app and the
// mp-weixin watch build in one terminal. Each part runs its own package's `dev` script; this file only decides the wiring
// between them (ports, which WeChat and SMS to talk to) and says where everything is once it is up.
import { existsSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import concurrently from "concurrently";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (existsSync(join(root, ".env"))) process.loadEnvFile(join(root, ".env"));

const SANDBOX_APPID = "wxsandbox0000000001";
const env = process.env;
const ports = {
  sandbox: Number(env.DEV_SANDBOX_PORT ?? 3100),
  api: Number(env.DEV_API_PORT ?? 3000),
  h5: Number(env.DEV_H5_PORT ?? 5173),
  admin: Number(env.DEV_ADMIN_PORT ?? 5174),
  metrics: Number(env.DEV_METRICS_PORT ?? 9464),
  database: Number(env.DEV_DATABASE_PORT ?? 5433),
};
// Without a DATABASE_URL (in .env or the environment), an embedded PostgreSQL (PGlite) runs as a
// part of its own, with its data in apps/api/data/pglite, and the API uses it like any PostgreSQL.
const embeddedDatabase = !env.DATABASE_URL;
const embeddedDatabaseDir = env.DEV_DATABASE_DIR || join(root, "apps/api/data/pglite");
const realWechat = Boolean(
  env.WECHAT_APPS || (env.WECHAT_APPID && env.WECHAT_APPID !== SANDBOX_APPID && env.WECHAT_SECRET),
);
// The sandbox's two apps, bound to one Open Platform account (@wxauth/contracts/sandbox): a second
// mini program's login works out of the box. Each has WeChat's message push pointed at the API's
// push route with a dev Token; the second also has an EncodingAESKey, so its pushes (media check
// verdicts, /__dev/push-event) come in safe mode and the first's in plaintext mode.
// Empty WECHAT_APPID/WECHAT_SECRET mean unset.
const DEV_PUSH_TOKEN = "wxauthDevPushToken";
const DEV_PUSH_AES_KEY = "wxauthDevPushAesKey000000000000000000000000";
const devApps = [
  { appid: SANDBOX_APPID, secret: "sandbox-secret-0000000000000000", name: "sandbox" },
  {
    appid: "wxsandbox0000000002",
    secret: "sandbox-secret-0000000000000002",
    name: "sandbox-2",
    pushAesKey: DEV_PUSH_AES_KEY,
  },
].map((app) => ({ ...app, pushToken: DEV_PUSH_TOKEN }));
const sandboxApps = {
  WECHAT_APPS: JSON.stringify(devApps),
  WECHAT_APPID: "",
  WECHAT_SECRET: "",
};
// SMS goes to the sandbox's Tencent Cloud SMS unless .env chooses a provider (SMS_PROVIDER).
const sandboxSms = !env.SMS_PROVIDER;
// Empty means unset: the sandbox and the API then both fall back to the sandbox's credentials,
// whatever Tencent Cloud keys .env may hold for other uses.
const sandboxSmsCredentials = {
  TENCENTCLOUD_SECRET_ID: "",
  TENCENTCLOUD_SECRET_KEY: "",
  TENCENT_SMS_SDK_APP_ID: "",
};
const urls = {
  sandbox: `http://127.0.0.1:${ports.sandbox}`,
  api: `http://localhost:${ports.api}`,
  h5: `http://localhost:${ports.h5}`,
  admin: `http://localhost:${ports.admin}`,
  metrics: `http://localhost:${ports.metrics}/metrics`,
  database: env.DATABASE_URL || `postgresql://postgres@127.0.0.1:${ports.database}/postgres`,
  mpWeixin: join(root, "apps/miniapp/dist/dev/mp-weixin"),
};

// The packages the apps import must be built before the dev servers start. A caller that has just built everything (the dev-command test, under turbo) skips this.
if (env.DEV_SKIP_BUILD !== "1") {
  const build = spawnSync(
    "pnpm",
    [
      "turbo",
      "run",
      "build",
      "--filter=@wxauth/api...",
      "--filter=@wxauth/miniapp^...",
      "--filter=@wxauth/admin^...",
      "--output-logs=errors-only",
    ],
    { cwd: root, stdio: "inherit" },
  );
  if (build.status !== 0) process.exit(build.status ?? 1);
}

// What the sandbox pushes to: each app's push route on the API (SANDBOX_APPS).
const sandboxPushApps = JSON.stringify(
  devApps.map(({ appid, secret, pushToken, pushAesKey }) => ({
    appid,
    secret,
    pushUrl: `http://127.0.0.1:${ports.api}/api/wechat/push/${appid}`,
    pushToken,
    ...(pushAesKey ? { pushAesKey } : {}),
  })),
);

const h5Origins = [`http://localhost:${ports.h5}`, `http://127.0.0.1:${ports.h5}`].join(",");
const miniappEnv = {
  VITE_API_BASE_URL: env.VITE_API_BASE_URL ?? urls.api,
  ...(realWechat ? {} : { VITE_WECHAT_SANDBOX_URL: `http://localhost:${ports.sandbox}` }),
  DEV_H5_PORT: String(ports.h5),
};
const parts = [
  ...(realWechat && !sandboxSms
    ? []
    : [
        {
          name: "sandbox",
          prefixColor: "magenta",
          command: "pnpm --filter @wxauth/wechat-mock dev",
          env: {
            PORT: String(ports.sandbox),
            HOST: "127.0.0.1",
            SANDBOX_ACCEPT_UNKNOWN_CODES: "1",
            ...(realWechat ? {} : { SANDBOX_APPS: sandboxPushApps }),
            ...sandboxSmsCredentials,
          },
        },
      ]),
  ...(embeddedDatabase
    ? [
        {
          name: "db",
          prefixColor: "blue",
          command: "pnpm --filter @wxauth/api dev:database",
          env: { DEV_DATABASE_PORT: String(ports.database), DEV_DATABASE_DIR: embeddedDatabaseDir },
        },
      ]
    : []),
  {
    name: "api",
    prefixColor: "cyan",
    // The API migrates its database first thing, so it starts once the embedded one listens.
    command: embeddedDatabase
      ? `node scripts/wait-for-port.mjs 127.0.0.1 ${ports.database} && pnpm --filter @wxauth/api dev`
      : "pnpm --filter @wxauth/api dev",
    env: {
      NODE_ENV: env.NODE_ENV ?? "development",
      DATABASE_URL: urls.database,
      PORT: String(ports.api),
      METRICS_PORT: String(ports.metrics),
      CORS_ORIGINS: env.CORS_ORIGINS ?? h5Origins,
      ...(realWechat ? {} : { WECHAT_API_BASE_URL: urls.sandbox, ...sandboxApps }),
      ...(sandboxSms
        ? {
            SMS_PROVIDER: "tencent",
            TENCENT_SMS_ENDPOINT: urls.sandbox,
            ...sandboxSmsCredentials,
            TENCENT_SMS_SIGN_NAME: "",
            TENCENT_SMS_TEMPLATE_ID: "",
          }
        : {}),
    },
  },
  {
    name: "admin",
    prefixColor: "red",
    command: "pnpm --filter @wxauth/admin dev",
    // The console proxies /api to the API, so its operator cookie is first-party.
    env: { DEV_ADMIN_PORT: String(ports.admin), VITE_API_PROXY: urls.api },
  },
  {
    name: "h5",
    prefixColor: "green",
    command: "pnpm --filter @wxauth/miniapp dev",
    env: miniappEnv,
  },
  {
    name: "mp-weixin",
    prefixColor: "yellow",
    command: "pnpm --filter @wxauth/miniapp dev:mp-weixin",
    env: miniappEnv,
  },
];

const { commands, result } = concurrently(parts, {
  prefix: "name",
  killOthers: ["failure"],
  cwd: root,
});

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopping = true;
    for (const command of commands) command.kill(signal);
  });
}

async function waitFor(check, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    if (await check().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return false;
}
const answers = (url) => () => fetch(url).then((response) => response.ok);

const ready = await Promise.all([
  realWechat && !sandboxSms ? true : waitFor(answers(`${urls.sandbox}/__dev/stats`)),
  waitFor(answers(`${urls.api}/api/health`)),
  waitFor(answers(urls.h5)),
  waitFor(async () => existsSync(join(urls.mpWeixin, "app.json"))),
  // Readiness reads a table: the database is up and migrated.
  waitFor(answers(`${urls.api}/api/health/ready`)),
  waitFor(answers(urls.admin)),
]);

/**
 * The console's dev operator, `dev`, an admin: created on the first `pnpm dev`, given a new
 * password on every later one (printed below), never asked to change it. operator:create --dev
 * refuses NODE_ENV=production.
 */
const DEV_OPERATOR = "dev";
function devOperatorPassword() {
  const created = spawnSync(
    "pnpm",
    [
      "--silent",
      "--filter",
      "@wxauth/api",
      "operator:create",
      DEV_OPERATOR,
      "--role",
      "admin",
      "--dev",
    ],
    {
      cwd: root,
      encoding: "utf8",
      env: { ...env, NODE_ENV: env.NODE_ENV ?? "development", DATABASE_URL: urls.database },
    },
  );
  if (created.status !== 0) {
    console.error(`dev: could not create the dev operator:\n${created.stderr}`);
    return null;
  }
  return created.stdout.trim().split("\n").at(-1);
}
const operatorPassword = ready[4] && !stopping ? devOperatorPassword() : null;
if (!stopping) {
  const mark = (ok) => (ok ? "ready " : "NOT UP");
  console.log(
    [
      "",
      "  wxauth dev is running",
      realWechat
        ? `  [ready ] WeChat          real WeChat, ${env.WECHAT_APPS ? "WECHAT_APPS" : `appid ${env.WECHAT_APPID}`}`
        : `  [${mark(ready[0])}] WeChat sandbox  ${urls.sandbox}`,
      sandboxSms
        ? `  [${mark(ready[0])}] SMS sandbox     ${urls.sandbox}/__dev/sms   (codes sent)`
        : `  [ready ] SMS             SMS_PROVIDER=${env.SMS_PROVIDER}`,
      embeddedDatabase
        ? `  [${mark(ready[4])}] PostgreSQL      ${urls.database}   (embedded PGlite, data in ${relative(root, embeddedDatabaseDir)})`
        : `  [${mark(ready[4])}] PostgreSQL      DATABASE_URL from the environment`,
      `  [${mark(ready[1])}] API             ${urls.api}   (docs: ${urls.api}/api/docs)`,
      `           metrics         ${urls.metrics}`,
      `  [${mark(ready[2])}] H5 app          ${urls.h5}`,
      `  [${mark(ready[5])}] admin console   ${urls.admin}/   (operator ${DEV_OPERATOR}, password ${operatorPassword ?? "NOT CREATED"})`,
      `  [${mark(ready[3])}] mp-weixin       ${urls.mpWeixin}   (import into WeChat DevTools)`,
      "  Ctrl-C stops everything.",
      "",
    ].join("\n"),
  );
}

try {
  await result;
} catch (closeEvents) {
  // Children end with a signal when we stop them; that is a clean stop, anything else is not.
  if (!stopping) {
    const failed = closeEvents.filter((event) => event.exitCode !== 0);
    console.error(`dev: ${failed.map((event) => event.command.name).join(", ")} stopped`);
    process.exit(1);
  }
}
process.exit(0);
