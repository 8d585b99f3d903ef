import { randomBytes } from "node:crypto";
import type { SandboxApi, SandboxStats } from "@wxauth/contracts/sandbox";
import { ACCESS_TOKEN_TTL_S, CODE_TTL_MS, DEVTOOLS_OPENID } from "./constants.js";

export type Outcome<T> = { ok: true; value: T } | { ok: false; errcode: number };

/** What jscode2session answers for a redeemed login code. */
export interface Code2SessionReply {
  openid: string;
  session_key: string;
  unionid?: string;
}

export interface PhoneInfo {
  phoneNumber: string;
  purePhoneNumber: string;
  countryCode: string | number;
  /** When the user tapped the button, which is what WeChat's watermark.timestamp records. */
  mintedAtMs: number;
}

export type SpecialFault = "timeout" | "http500" | "html" | "truncated";

export interface Fault {
  errcode?: number | SpecialFault;
  delayMs?: number;
  remaining: number;
}

/** /cgi-bin/stable_token and /cgi-bin/token hand out tokens that WeChat keeps fully separate. */
export type TokenIssuer = "stable_token" | "token";

export interface IssuedToken {
  access_token: string;
  expires_in: number;
}

interface LoginCodeRecord {
  openid: string;
  unionid?: string;
  mintedAtMs: number;
  used: boolean;
}

interface PhoneCodeRecord {
  phoneNumber: string;
  countryCode: string | number;
  openid?: string;
  mintedAtMs: number;
  used: boolean;
}

interface AccessTokenRecord {
  expiresAtMs: number;
  /** A replaced token dies early and then reads as "not latest" (40001), not as expired (42001). */
  replaced: boolean;
}

/** One SMS the sandbox accepted, as /__dev/sms shows it. */
export interface SmsRecord {
  phone: string;
  templateId: string;
  params: string[];
  sentAtMs: number;
}

/** The newest SMS kept, so a long benchmark cannot grow the list without bound. */
const MAX_SMS_KEPT = 1000;

/** How long naturally expired tokens are remembered so that they answer 42001 rather than 40001. */
const EXPIRED_TOKEN_MEMORY_MS = 24 * 3600_000;

function zeroCalls(): Record<SandboxApi, number> {
  return { jscode2session: 0, stable_token: 0, token: 0, getuserphonenumber: 0 };
}

/** A random openid shaped like WeChat's: 28 characters of base64url, starting with "o". */
export function randomOpenid(): string {
  return `o${randomBytes(21).toString("base64url").slice(0, 27)}`;
}

/**
 * Drops entries from the front of an insertion-ordered map while they are stale. Entries are
 * inserted in time order, so this keeps memory flat under a benchmark's stream of codes without
 * scanning the whole map on every call.
 */
function pruneFront<V>(map: Map<string, V>, isStale: (value: V) => boolean): void {
  for (const [key, value] of map) {
    if (!isStale(value)) return;
    map.delete(key);
  }
}

/** Everything the sandbox remembers: codes, access tokens, SMS, armed faults and call counts. */
export class SandboxState {
  private readonly loginCodes = new Map<string, LoginCodeRecord>();
  private readonly phoneCodes = new Map<string, PhoneCodeRecord>();
  private readonly accessTokens = new Map<string, AccessTokenRecord>();
  private readonly currentTokens = new Map<TokenIssuer, string>();
  private readonly faults = new Map<SandboxApi, Fault>();
  private calls = zeroCalls();
  /** Oldest first. */
  private smsSent: SmsRecord[] = [];

  constructor(
    readonly now: () => number,
    private readonly acceptUnknownCodes: boolean,
  ) {}

  mintLoginCode(openid: string = randomOpenid(), unionid?: string): string {
    const now = this.now();
    pruneFront(this.loginCodes, (record) => now - record.mintedAtMs > CODE_TTL_MS);
    const code = randomBytes(24).toString("base64url");
    this.loginCodes.set(code, { openid, unionid, mintedAtMs: now, used: false });
    return code;
  }

  redeemLoginCode(code: string): Outcome<Code2SessionReply> {
    const now = this.now();
    let record = this.loginCodes.get(code);
    if (record === undefined && this.acceptUnknownCodes) {
      record = { openid: DEVTOOLS_OPENID, mintedAtMs: now, used: false };
      this.loginCodes.set(code, record);
    }
    if (record === undefined || now - record.mintedAtMs > CODE_TTL_MS) {
      return { ok: false, errcode: 40029 };
    }
    if (record.used) return { ok: false, errcode: 40163 };
    record.used = true;
    const reply: Code2SessionReply = {
      openid: record.openid,
      session_key: randomBytes(16).toString("base64"),
    };
    if (record.unionid !== undefined) reply.unionid = record.unionid;
    return { ok: true, value: reply };
  }

  mintPhoneCode(phoneNumber: string, countryCode: string | number, openid?: string): string {
    const now = this.now();
    pruneFront(this.phoneCodes, (record) => now - record.mintedAtMs > CODE_TTL_MS);
    const code = randomBytes(32).toString("hex");
    this.phoneCodes.set(code, { phoneNumber, countryCode, openid, mintedAtMs: now, used: false });
    return code;
  }

  /**
   * WeChat answers 40029 for every bad phone code: unknown, expired, already used, or bound to
   * another user. Only a successful exchange consumes the code.
   */
  redeemPhoneCode(code: string, openid: string | undefined): Outcome<PhoneInfo> {
    const record = this.phoneCodes.get(code);
    if (
      record === undefined ||
      record.used ||
      this.now() - record.mintedAtMs > CODE_TTL_MS ||
      (openid !== undefined && record.openid !== undefined && openid !== record.openid)
    ) {
      return { ok: false, errcode: 40029 };
    }
    record.used = true;
    const isMainland = String(record.countryCode) === "86";
    return {
      ok: true,
      value: {
        phoneNumber: isMainland
          ? record.phoneNumber
          : `+${record.countryCode}${record.phoneNumber}`,
        purePhoneNumber: record.phoneNumber,
        countryCode: record.countryCode,
        mintedAtMs: record.mintedAtMs,
      },
    };
  }

  /**
   * Without `replace`, hands back the issuer's current token while it is valid (stable_token's
   * normal mode). With it, or when there is none, issues a new token. The one it replaces keeps
   * working for `replacedGraceMs`: WeChat documents 5 minutes for /cgi-bin/token, while
   * stable_token's force_refresh invalidates the previous token at once.
   */
  issueAccessToken(issuer: TokenIssuer, replace: boolean, replacedGraceMs: number): IssuedToken {
    const now = this.now();
    const currentToken = this.currentTokens.get(issuer);
    const current = currentToken === undefined ? undefined : this.accessTokens.get(currentToken);
    if (!replace && currentToken !== undefined && current !== undefined) {
      const remainingS = Math.floor((current.expiresAtMs - now) / 1000);
      if (remainingS > 0) return { access_token: currentToken, expires_in: remainingS };
    }
    if (current !== undefined && current.expiresAtMs > now + replacedGraceMs) {
      current.expiresAtMs = now + replacedGraceMs;
      current.replaced = true;
    }
    pruneFront(this.accessTokens, (record) =>
      record.replaced
        ? record.expiresAtMs <= now
        : record.expiresAtMs + EXPIRED_TOKEN_MEMORY_MS <= now,
    );
    const accessToken = randomBytes(96).toString("base64url");
    this.accessTokens.set(accessToken, {
      expiresAtMs: now + ACCESS_TOKEN_TTL_S * 1000,
      replaced: false,
    });
    this.currentTokens.set(issuer, accessToken);
    return { access_token: accessToken, expires_in: ACCESS_TOKEN_TTL_S };
  }

  /** 0 when the token may be used, otherwise the errcode WeChat answers. */
  checkAccessToken(accessToken: string): number {
    const record = this.accessTokens.get(accessToken);
    if (record === undefined) return 40001;
    if (this.now() < record.expiresAtMs) return 0;
    return record.replaced ? 40001 : 42001;
  }

  recordSms(record: SmsRecord): void {
    this.smsSent.push(record);
    if (this.smsSent.length > MAX_SMS_KEPT) this.smsSent.shift();
  }

  /** The SMS accepted, newest first; only those to `phone` (E.164) when it is given. */
  smsMessages(phone?: string): SmsRecord[] {
    const matching =
      phone === undefined ? this.smsSent : this.smsSent.filter((sms) => sms.phone === phone);
    return matching.slice().reverse();
  }

  armFault(api: SandboxApi, fault: Fault): void {
    this.faults.set(api, fault);
  }

  /** The fault the next call of `api` suffers, counting it down. */
  takeFault(api: SandboxApi): Fault | undefined {
    const fault = this.faults.get(api);
    if (fault === undefined) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.delete(api);
    return fault;
  }

  countCall(api: SandboxApi): void {
    this.calls[api] += 1;
  }

  stats(): SandboxStats {
    return { calls: { ...this.calls } };
  }

  reset(): void {
    this.loginCodes.clear();
    this.phoneCodes.clear();
    this.accessTokens.clear();
    this.currentTokens.clear();
    this.faults.clear();
    this.calls = zeroCalls();
    this.smsSent = [];
  }
}
