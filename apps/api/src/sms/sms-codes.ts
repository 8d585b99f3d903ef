import { createHmac, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { maskPhone, normalizePhone } from "@wxauth/contracts";
import { deriveKey, type DataKey, type SharedStore } from "@wxauth/wechat";
import { ipKeyGenerator } from "express-rate-limit";
import type { SmsConfig } from "../config.js";
import { AppError } from "../errors.js";
import type { LogSecurityEvent } from "../security-events/security-events.js";
import type { SmsContext, SmsObserver, SmsSender } from "./sms-sender.js";

/** What a code is for; a code sent for one purpose never verifies for another. */
export type SmsPurpose = "register" | "change-phone";

export interface SendCodeInput extends SmsContext {
  purpose: SmsPurpose;
  /** Who the code is for: the registration ticket's hash, or the user id. */
  subject: string;
  /** As the user typed it: `13800138000`, `+8613800138000` or another E.164 number. */
  phone: string;
  /** The client's address, for the per-IP limit. */
  ip: string;
}

export interface SendCodeResult {
  /** The phone in E.164, as the code is bound to it. */
  phone: string;
  /** Seconds the code stays valid. */
  expiresIn: number;
  /** Seconds before another code can be sent to this phone. */
  retryAfter: number;
}

export interface VerifyCodeInput extends SmsContext {
  purpose: SmsPurpose;
  subject: string;
  phone: string;
  code: string;
}

export interface SmsCodes {
  /**
   * Sends a fresh 6-digit code, replacing any earlier one for the same purpose, subject and phone.
   * Throws VALIDATION_FAILED for a malformed phone, SMS_RATE_LIMITED past a limit (with
   * `retryAfterS`), SMS_UNAVAILABLE when the provider fails or SMS is off.
   */
  send(input: SendCodeInput): Promise<SendCodeResult>;
  /**
   * Consumes the code: resolves once, with the phone in E.164, for the code last sent to that
   * phone for that purpose and subject. Throws SMS_CODE_INVALID when the code is wrong, expired,
   * already used or out of tries (and VALIDATION_FAILED for a malformed phone).
   */
  verify(input: VerifyCodeInput): Promise<{ phone: string }>;
}

export interface SmsCodesOptions {
  store: SharedStore;
  sender: SmsSender;
  /** Writes sms_sent and sms_limited (log line and table). */
  logSecurityEvent: LogSecurityEvent;
  /** Told of each code sent and each send a limit refused (the metrics). */
  observer?: SmsObserver;
  limits: SmsConfig["limits"];
  /** The data key ring (DATA_KEYS): the first key hashes new codes, every key verifies. */
  dataKeys: readonly DataKey[];
  /** Five minutes; tests on Redis shorten it rather than wait. */
  codeTtlMs?: number;
}

export const SMS_CODE_TTL_MS = 5 * 60_000;
/** Wrong submissions that end a code. */
export const SMS_CODE_MAX_TRIES = 5;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** HMAC-SHA256. */
const HASH_BYTES = 32;

/** Who a code concerns, for its security events: the user changing a phone; none yet when registering. */
function eventSubjectOf(input: { purpose: string; subject: string; requestId?: string }) {
  return {
    userId: input.purpose === "change-phone" ? input.subject : null,
    requestId: input.requestId ?? null,
  };
}

type LimitName = "phone-interval" | "phone-daily" | "subject-hourly" | "ip-hourly";

/** `<code id>.<keyed hash of the code>`: what the store holds instead of the code. */
function parseRecord(record: string): { codeId: string; hash: Buffer } | undefined {
  const [codeId, hashText] = record.split(".");
  const hash = Buffer.from(hashText ?? "", "base64url");
  return codeId && hash.length === HASH_BYTES ? { codeId, hash } : undefined;
}

/** The keyed hashes of one data key: the code's, and the store keys' (so no phone is in clear). */
function hashesUnder(dataKey: DataKey) {
  const hmacKey = deriveKey(dataKey, "sms-codes");
  const mac = (...parts: string[]) =>
    createHmac("sha256", hmacKey).update(parts.join("\0")).digest();
  const digest = (...parts: string[]) => mac(...parts).toString("base64url");
  return {
    recordKey: (purpose: SmsPurpose, subject: string, phone: string) =>
      `sms:code:${digest("binding", purpose, subject, phone)}`,
    codeHash: (codeId: string, code: string) => mac("code", codeId, code),
    phoneKey: (phone: string) => digest("phone", phone),
    subjectKey: (purpose: SmsPurpose, subject: string) => digest("subject", purpose, subject),
  };
}

type KeyedHashes = ReturnType<typeof hashesUnder>;

/**
 * Issues and verifies SMS codes. A code is stored only as an HMAC under a data key, in the shared
 * store, under a key that binds it to purpose, subject and phone (itself an HMAC, so the store
 * never holds a phone in clear). The first data key hashes new codes; a code is looked for under
 * every key of the ring, the first key first, so one sent just before a rotation still verifies.
 * Single use: the one submission whose compare-and-delete removes the record wins, however many instances race for it. Every
 * submission counts against SMS_CODE_MAX_TRIES before it is compared, so concurrent guesses cannot
 * exceed it either. The limits are fixed windows counted in the shared store.
 */
export function createSmsCodes(options: SmsCodesOptions): SmsCodes {
  const { store, sender, limits } = options;
  const codeTtlMs = options.codeTtlMs ?? SMS_CODE_TTL_MS;
  const ring = options.dataKeys.map(hashesUnder);
  const current = ring[0];
  if (!current) throw new Error("SMS codes: the data key ring is empty");

  function phoneOf(typed: string): string {
    const phone = normalizePhone(typed);
    if (phone === undefined) {
      throw new AppError("VALIDATION_FAILED", "phone: expected a number such as 13800138000.");
    }
    return phone;
  }

  /** The record of the code last sent for this binding, under the first key that has one. */
  async function findRecord(purpose: SmsPurpose, subject: string, phone: string) {
    for (const hashes of ring) {
      const storeKey = hashes.recordKey(purpose, subject, phone);
      const record = await store.get(storeKey);
      if (record !== null) return { hashes, storeKey, record };
    }
    return undefined;
  }

  /**
   * Counts one send in a window under every key of the ring, and the highest count stands: so
   * instances on either side of a data-key rotation (during its rollout) still share one count.
   */
  async function countUnderEveryKey(name: (hashes: KeyedHashes) => string, windowMs: number) {
    const counts = await Promise.all(
      [...new Set(ring.map(name))].map((counterKey) => store.increment(counterKey, windowMs)),
    );
    return counts.reduce((highest, next) => (next.count > highest.count ? next : highest));
  }

  /** Counts one send against each limit in turn; the first one exceeded stops the send. */
  async function countAgainstLimits(input: SendCodeInput, phone: string): Promise<void> {
    const windows: [LimitName, (hashes: KeyedHashes) => string, number, number][] = [
      [
        "phone-interval",
        (hashes) => `sms:limit:phone:${hashes.phoneKey(phone)}`,
        limits.phoneIntervalS * 1000,
        1,
      ],
      [
        "phone-daily",
        (hashes) => `sms:limit:phone-day:${hashes.phoneKey(phone)}`,
        DAY_MS,
        limits.phoneDailyLimit,
      ],
      [
        "subject-hourly",
        (hashes) => `sms:limit:subject:${hashes.subjectKey(input.purpose, input.subject)}`,
        HOUR_MS,
        limits.subjectHourlyLimit,
      ],
      // Per IPv4 address, per IPv6 /56: the auth rate limit's notion of one client.
      [
        "ip-hourly",
        () => `sms:limit:ip:${ipKeyGenerator(input.ip, 56)}`,
        HOUR_MS,
        limits.ipHourlyLimit,
      ],
    ];
    // In turn, so that a send refused by the per-phone interval does not use up the others.
    for (const [limit, counterKey, windowMs, max] of windows) {
      const { count: sends, resetInMs } = await countUnderEveryKey(counterKey, windowMs);
      if (sends <= max) continue;
      const retryAfter = Math.max(1, Math.ceil(resetInMs / 1000));
      await options.logSecurityEvent("sms_limited", {
        ...eventSubjectOf(input),
        details: { purpose: input.purpose, limit, retryAfter },
        logOnly: { phone: maskPhone(phone) },
      });
      options.observer?.limited(limit);
      throw new AppError("SMS_RATE_LIMITED", undefined, { retryAfterS: retryAfter });
    }
  }

  return {
    async send(input) {
      const phone = phoneOf(input.phone);
      await countAgainstLimits(input, phone);
      const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
      const codeId = randomBytes(12).toString("base64url");
      const record = `${codeId}.${current.codeHash(codeId, code).toString("base64url")}`;
      const storeKey = current.recordKey(input.purpose, input.subject, phone);
      await store.set(storeKey, record, codeTtlMs);
      // A code sent under an earlier first key ends too: the last code sent is the one that counts.
      for (const hashes of ring.slice(1)) {
        const earlierKey = hashes.recordKey(input.purpose, input.subject, phone);
        const earlier = await store.get(earlierKey);
        if (earlier !== null) await store.deleteIfEquals(earlierKey, earlier);
      }
      const minutes = Math.ceil(codeTtlMs / 60_000);
      try {
        await sender.send(phone, code, minutes, { requestId: input.requestId });
      } catch (error) {
        // No live code for an SMS that never left.
        await store.deleteIfEquals(storeKey, record);
        throw error;
      }
      await options.logSecurityEvent("sms_sent", {
        ...eventSubjectOf(input),
        details: { purpose: input.purpose },
        logOnly: { phone: maskPhone(phone) },
      });
      options.observer?.sent();
      return {
        phone,
        expiresIn: Math.floor(codeTtlMs / 1000),
        retryAfter: limits.phoneIntervalS,
      };
    },

    async verify(input) {
      const phone = phoneOf(input.phone);
      const found = await findRecord(input.purpose, input.subject, phone);
      const parsed = found && parseRecord(found.record);
      if (found === undefined || parsed === undefined) throw new AppError("SMS_CODE_INVALID");
      const { hashes, storeKey, record } = found;
      const { count: tries } = await store.increment(`sms:tries:${parsed.codeId}`, codeTtlMs);
      if (tries > SMS_CODE_MAX_TRIES) throw new AppError("SMS_CODE_INVALID");
      const matches =
        /^\d{6}$/.test(input.code) &&
        timingSafeEqual(hashes.codeHash(parsed.codeId, input.code), parsed.hash);
      if (!matches) {
        if (tries >= SMS_CODE_MAX_TRIES) await store.deleteIfEquals(storeKey, record);
        throw new AppError("SMS_CODE_INVALID");
      }
      // Of concurrent right submissions, only the one that deletes the record succeeds.
      if (!(await store.deleteIfEquals(storeKey, record))) {
        throw new AppError("SMS_CODE_INVALID");
      }
      return { phone };
    },
  };
}

/**
 * SMS_PROVIDER=none: the SMS routes answer 503 SMS_UNAVAILABLE at once, before any limit is
 * counted or any code looked for, so a client sees SMS is off rather than a limit or a bad code.
 */
export const disabledSmsCodes: SmsCodes = {
  async send() {
    throw smsSwitchedOff();
  },
  async verify() {
    throw smsSwitchedOff();
  },
};

function smsSwitchedOff(): AppError {
  return new AppError("SMS_UNAVAILABLE", "SMS is switched off on this server.", {
    retryable: false,
  });
}
