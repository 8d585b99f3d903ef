import {
  SandboxFailRequestSchema,
  SandboxLoginCodeRequestSchema,
  SandboxMediaVerdictRequestSchema,
  SandboxPhoneCodeRequestSchema,
  SandboxPushConfigRequestSchema,
  SandboxPushEventRequestSchema,
  sandboxRoutes,
  type SandboxLoginCodeResponse,
  type SandboxPhoneCodeResponse,
  type SandboxPushEventResponse,
  type SandboxPushes,
  type SandboxSmsMessages,
} from "@wxauth/contracts/sandbox";
import { normalizePhone } from "@wxauth/contracts";
import * as z from "zod/mini";
import { en } from "zod/locales";
import { parseJson } from "./http.js";
import type { SandboxApps } from "./apps.js";
import type { Pusher } from "./pusher.js";
import { personOpenid, personUnionid, randomOpenid, type SandboxState } from "./state.js";

export interface DevReply {
  status: number;
  body: object;
}

export interface DevRoute {
  method: "GET" | "POST";
  handle(body: string, query: URLSearchParams): DevReply | Promise<DevReply>;
}

// The contract schemas are zod/mini, which ships no messages: the 400s say what is wrong in English.
z.config(en());

const badRequest = (error: string): DevReply => ({ status: 400, body: { error } });

/** Parses a dev-control body with its contract schema into data or a readable 400. */
function parseBody<Schema extends z.ZodMiniType>(
  schema: Schema,
  body: string,
): { ok: true; data: z.output<Schema> } | { ok: false; reply: DevReply } {
  const json = parseJson(body);
  if (json === undefined) return { ok: false, reply: badRequest("body is not valid JSON") };
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, data: result.data };
  const message = result.error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
  return { ok: false, reply: badRequest(message) };
}

const OK: DevReply = { status: 200, body: { ok: true } };

const unknownApp = (appid: string | undefined): DevReply =>
  badRequest(`appid: ${appid ?? "(default)"} is not one of the sandbox's apps`);

export function devRoutes(
  state: SandboxState,
  apps: SandboxApps,
  pusher: Pusher,
): ReadonlyMap<string, DevRoute> {
  return new Map<string, DevRoute>([
    [
      sandboxRoutes.loginCode,
      {
        method: "POST",
        handle(body) {
          const parsed = parseBody(SandboxLoginCodeRequestSchema, body);
          if (!parsed.ok) return parsed.reply;
          const { person, appid } = parsed.data;
          const app = apps.resolve(appid);
          if (app === undefined) return unknownApp(appid);
          if (person !== undefined && (parsed.data.openid ?? parsed.data.unionid) !== undefined) {
            return badRequest("body: give person, or openid/unionid, not both");
          }
          // A person has one openid per app and, in the apps bound to the Open Platform, one unionid.
          const openid =
            person === undefined
              ? (parsed.data.openid ?? randomOpenid())
              : personOpenid(app.appid, person);
          const unionid =
            person === undefined
              ? parsed.data.unionid
              : app.unionBound
                ? personUnionid(person)
                : undefined;
          const reply: SandboxLoginCodeResponse = {
            code: state.mintLoginCode(app.appid, openid, unionid),
            openid,
            appid: app.appid,
            ...(unionid === undefined ? {} : { unionid }),
          };
          return { status: 200, body: reply };
        },
      },
    ],
    [
      sandboxRoutes.phoneCode,
      {
        method: "POST",
        handle(body) {
          const parsed = parseBody(SandboxPhoneCodeRequestSchema, body);
          if (!parsed.ok) return parsed.reply;
          const { phoneNumber, countryCode = "86", openid } = parsed.data;
          // Bound to the app asked for, else to the app the openid was issued in, else the first.
          const appid =
            parsed.data.appid ?? (openid === undefined ? undefined : state.appsOfOpenid(openid)[0]);
          const app = apps.resolve(appid);
          if (app === undefined) return unknownApp(appid);
          const reply: SandboxPhoneCodeResponse = {
            code: state.mintPhoneCode(app.appid, phoneNumber, countryCode, openid),
          };
          return { status: 200, body: reply };
        },
      },
    ],
    [
      sandboxRoutes.fail,
      {
        method: "POST",
        handle(body) {
          const parsed = parseBody(SandboxFailRequestSchema, body);
          if (!parsed.ok) return parsed.reply;
          const { api, errcode, times, delayMs } = parsed.data;
          if (errcode === undefined && delayMs === undefined) {
            return badRequest("body: give errcode, delayMs or both");
          }
          state.armFault(api, { errcode, delayMs, remaining: times });
          return OK;
        },
      },
    ],
    [sandboxRoutes.stats, { method: "GET", handle: () => ({ status: 200, body: state.stats() }) }],
    [
      sandboxRoutes.sms,
      {
        method: "GET",
        handle(_body, query) {
          // `?phone=+8613800138000` unencoded, as people type it, reads as a space: a plus it was.
          const typed = query.get("phone")?.replace(/^ /, "+");
          const phone = typed === undefined ? undefined : normalizePhone(typed);
          if (typed !== undefined && phone === undefined) {
            return badRequest("phone: expected a mobile number such as +8613800138000");
          }
          const reply: SandboxSmsMessages = {
            messages: state.smsMessages(phone).map(({ sentAtMs, ...sms }) => ({
              ...sms,
              sentAt: new Date(sentAtMs).toISOString(),
            })),
          };
          return { status: 200, body: reply };
        },
      },
    ],
    [
      sandboxRoutes.mediaVerdict,
      {
        method: "POST",
        handle(body) {
          const parsed = parseBody(SandboxMediaVerdictRequestSchema, body);
          if (!parsed.ok) return parsed.reply;
          const { suggest, label, appid } = parsed.data;
          if (appid !== undefined && apps.get(appid) === undefined) return unknownApp(appid);
          state.setMediaVerdict(appid, {
            suggest,
            label: label ?? { pass: 100, review: 21000, risky: 20002 }[suggest],
          });
          return OK;
        },
      },
    ],
    [
      sandboxRoutes.pushEvent,
      {
        method: "POST",
        async handle(body) {
          const parsed = parseBody(SandboxPushEventRequestSchema, body);
          if (!parsed.ok) return parsed.reply;
          const { appid, message, times } = parsed.data;
          const app = apps.resolve(appid);
          if (app === undefined) return unknownApp(appid);
          if (app.pushUrl === undefined || app.pushToken === undefined) {
            return badRequest(`appid: ${app.appid} has no push address and Token configured`);
          }
          const reply: SandboxPushEventResponse = {
            deliveries: await pusher.push(app, pusher.envelope(app, message), times),
          };
          return { status: 200, body: reply };
        },
      },
    ],
    [
      sandboxRoutes.pushConfig,
      {
        method: "POST",
        handle(body) {
          const parsed = parseBody(SandboxPushConfigRequestSchema, body);
          if (!parsed.ok) return parsed.reply;
          const { appid, ...settings } = parsed.data;
          return apps.configurePush(appid, settings) ? OK : unknownApp(appid);
        },
      },
    ],
    [
      sandboxRoutes.pushes,
      {
        method: "GET",
        handle() {
          const reply: SandboxPushes = {
            pushes: state.pushesMade().map(({ sentAtMs, ...push }) => ({
              ...push,
              sentAt: new Date(sentAtMs).toISOString(),
            })),
          };
          return { status: 200, body: reply };
        },
      },
    ],
    [
      sandboxRoutes.reset,
      {
        method: "POST",
        handle() {
          state.reset();
          return OK;
        },
      },
    ],
  ]);
}
