import {
  SandboxFailRequestSchema,
  SandboxLoginCodeRequestSchema,
  SandboxPhoneCodeRequestSchema,
  sandboxRoutes,
  type SandboxLoginCodeResponse,
  type SandboxPhoneCodeResponse,
  type SandboxSmsMessages,
} from "@wxauth/contracts/sandbox";
import { normalizePhone } from "@wxauth/contracts";
import * as z from "zod/mini";
import { en } from "zod/locales";
import { parseJson } from "./http.js";
import { randomOpenid, type SandboxState } from "./state.js";

export interface DevReply {
  status: number;
  body: object;
}

export interface DevRoute {
  method: "GET" | "POST";
  handle(body: string, query: URLSearchParams): DevReply;
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

export function devRoutes(state: SandboxState): ReadonlyMap<string, DevRoute> {
  return new Map<string, DevRoute>([
    [
      sandboxRoutes.loginCode,
      {
        method: "POST",
        handle(body) {
          const parsed = parseBody(SandboxLoginCodeRequestSchema, body);
          if (!parsed.ok) return parsed.reply;
          const { openid = randomOpenid(), unionid } = parsed.data;
          const reply: SandboxLoginCodeResponse = {
            code: state.mintLoginCode(openid, unionid),
            openid,
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
          const reply: SandboxPhoneCodeResponse = {
            code: state.mintPhoneCode(phoneNumber, countryCode, openid),
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
