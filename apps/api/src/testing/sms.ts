/*
 * Test tooling for the SMS code: a logger that keeps what it is given, the API's SMS setup
 * pointed at an in-process sandbox, which stands in for Tencent Cloud SMS, and the AppError a
 * promise rejects with.
 */
import { systemClock } from "../clock.js";
import {
  createSecurityEventLog,
  type LogSecurityEvent,
} from "../security-events/security-events.js";
import { startSandbox, type RunningSandbox } from "@wxauth/wechat-mock";
import { expect } from "vitest";
import { loadConfig, type SmsConfig } from "../config.js";
import { AppError } from "../errors.js";
import { createSmsSender, type SmsLogger, type SmsSender } from "../sms/sms-sender.js";

export interface LoggedEntry {
  level: "info" | "warn" | "error";
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** logSecurityEvent writing the log line only: the SMS unit tests have no database. */
export function securityEventsLoggedTo(logger: SmsLogger): LogSecurityEvent {
  return createSecurityEventLog({
    data: { securityEvents: { insert: async () => {} } },
    logger,
    clock: systemClock,
  });
}

export function recordingSmsLogger(): SmsLogger & { entries: LoggedEntry[] } {
  const entries: LoggedEntry[] = [];
  const at =
    (level: LoggedEntry["level"]) =>
    (obj: object, msg?: string): void => {
      entries.push({ level, obj: obj as Record<string, unknown>, msg });
    };
  return { entries, info: at("info"), warn: at("warn"), error: at("error") };
}

export interface SmsSandbox {
  sandbox: RunningSandbox;
  /** The API's SMS configuration for this sandbox, as `pnpm dev` sets it up. */
  config(env?: Record<string, string>): SmsConfig;
  sender(logger?: SmsLogger): SmsSender;
  /** The code in the newest SMS the sandbox accepted for `phone` (E.164). */
  lastCode(phone: string): string | undefined;
  close(): Promise<void>;
}

export async function startSmsSandbox(): Promise<SmsSandbox> {
  const sandbox = await startSandbox({ log: () => {} });
  const config = (env: Record<string, string> = {}) =>
    loadConfig({ SMS_PROVIDER: "tencent", TENCENT_SMS_ENDPOINT: sandbox.url, ...env }).sms;
  return {
    sandbox,
    config,
    sender: (logger = recordingSmsLogger()) => createSmsSender(config(), logger),
    lastCode: (phone) => sandbox.state.smsMessages(phone)[0]?.params[0],
    close: () => sandbox.close(),
  };
}

/** The AppError `promise` rejects with; fails the test if it resolves or rejects otherwise. */
export async function rejectionOf(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}
