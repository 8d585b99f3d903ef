import { createHash, randomBytes } from "node:crypto";
import type {
  SandboxApi,
  SandboxContentSuggest,
  SandboxPushRecord,
  SandboxStats,
} from "@wxauth/contracts/sandbox";
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
  appid: string;
  openid: string;
  unionid?: string;
  mintedAtMs: number;
  used: boolean;
}

interface PhoneCodeRecord {
  appid: string;
  phoneNumber: string;
  countryCode: string | number;
  openid?: string;
  mintedAtMs: number;
  used: boolean;
}

interface AccessTokenRecord {
  /** The app the token was issued to: every call made with it is that app's call. */
  appid: string;
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

/** The verdict a media check pushes. */
export interface MediaVerdict {
  suggest: SandboxContentSuggest;
  label: number;
}

/** One push the sandbox made, as /__dev/pushes shows it (with the time as epoch ms). */
export type PushRecord = Omit<SandboxPushRecord, "sentAt"> & { sentAtMs: number };

/** The newest SMS (and pushes) kept, so a long benchmark cannot grow the list without bound. */
const MAX_SMS_KEPT = 1000;
/** Openids remembered with their apps; a benchmark mints a new one per login. */
const MAX_OPENIDS_KEPT = 100_000;
/** The key of a media verdict set for whichever app checks next. */
const ANY_APP = "*";

/** How long naturally expired tokens are remembered so that they answer 42001 rather than 40001. */
const EXPIRED_TOKEN_MEMORY_MS = 24 * 3600_000;

function zeroCalls(): Record<SandboxApi, number> {
  return {
    jscode2session: 0,
    stable_token: 0,
    token: 0,
    getuserphonenumber: 0,
    msg_sec_check: 0,
    media_check_async: 0,
  };
}

/** A random openid shaped like WeChat's: 28 characters of base64url, starting with "o". */
export function randomOpenid(): string {
  return `o${randomBytes(21).toString("base64url").slice(0, 27)}`;
}

/** 28 characters of base64url starting with "o", derived from `parts`: stable across restarts. */
function derivedId(...parts: string[]): string {
  return `o${createHash("sha256").update(parts.join("\n")).digest("base64url").slice(0, 27)}`;
}

/** The openid of `person` in app `appid`: one per app, as WeChat gives. */
export function personOpenid(appid: string, person: string): string {
  return derivedId("openid", appid, person);
}

/** The unionid of `person` under the sandbox's one Open Platform account: the same in every app. */
export function personUnionid(person: string): string {
  return derivedId("unionid", person);
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
  /** Each app's current token per issuer, under `${appid} ${issuer}`. */
  private readonly currentTokens = new Map<string, string>();
  private readonly mediaVerdicts = new Map<string, MediaVerdict>();
  /** Which apps each openid was minted in, least recently minted first. */
  private readonly openidApps = new Map<string, Set<string>>();
  /** Oldest first. */
  private pushes: PushRecord[] = [];
  private readonly faults = new Map<SandboxApi, Fault>();
  private calls = zeroCalls();
  /** Oldest first. */
  private smsSent: SmsRecord[] = [];

  constructor(
    readonly now: () => number,
    private readonly acceptUnknownCodes: boolean,
  ) {}

  mintLoginCode(appid: string, openid: string = randomOpenid(), unionid?: string): string {
    const now = this.now();
    pruneFront(this.loginCodes, (record) => now - record.mintedAtMs > CODE_TTL_MS);
    const code = randomBytes(24).toString("base64url");
    this.loginCodes.set(code, { appid, openid, unionid, mintedAtMs: now, used: false });
    const apps = this.openidApps.get(openid) ?? new Set<string>();
    this.openidApps.delete(openid); // re-inserted last: the map stays oldest-first
    this.openidApps.set(openid, apps.add(appid));
    if (this.openidApps.size > MAX_OPENIDS_KEPT) {
      const oldest = this.openidApps.keys().next();
      if (oldest.done !== true) this.openidApps.delete(oldest.value);
    }
    return code;
  }

  /** A code works only with the credentials of the app it was issued to (else 40029). */
  redeemLoginCode(code: string, appid: string): Outcome<Code2SessionReply> {
    const now = this.now();
    let record = this.loginCodes.get(code);
    if (record === undefined && this.acceptUnknownCodes) {
      record = { appid, openid: DEVTOOLS_OPENID, mintedAtMs: now, used: false };
      this.loginCodes.set(code, record);
    }
    if (record === undefined || record.appid !== appid || now - record.mintedAtMs > CODE_TTL_MS) {
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

  mintPhoneCode(
    appid: string,
    phoneNumber: string,
    countryCode: string | number,
    openid?: string,
  ): string {
    const now = this.now();
    pruneFront(this.phoneCodes, (record) => now - record.mintedAtMs > CODE_TTL_MS);
    const code = randomBytes(32).toString("hex");
    this.phoneCodes.set(code, {
      appid,
      phoneNumber,
      countryCode,
      openid,
      mintedAtMs: now,
      used: false,
    });
    return code;
  }

  /** The apps the openid was issued login codes in (oldest first); empty when it never was. */
  appsOfOpenid(openid: string): readonly string[] {
    return [...(this.openidApps.get(openid) ?? [])];
  }

  /**
   * WeChat answers 40029 for every bad phone code: unknown, expired, already used, issued in another
   * app (whose access token this is not), or bound to another user. Only a successful exchange
   * consumes the code.
   */
  redeemPhoneCode(code: string, appid: string, openid: string | undefined): Outcome<PhoneInfo> {
    const record = this.phoneCodes.get(code);
    if (
      record === undefined ||
      record.appid !== appid ||
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
  issueAccessToken(
    appid: string,
    issuer: TokenIssuer,
    replace: boolean,
    replacedGraceMs: number,
  ): IssuedToken {
    const now = this.now();
    const currentKey = `${appid} ${issuer}`;
    const currentToken = this.currentTokens.get(currentKey);
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
      appid,
      expiresAtMs: now + ACCESS_TOKEN_TTL_S * 1000,
      replaced: false,
    });
    this.currentTokens.set(currentKey, accessToken);
    return { access_token: accessToken, expires_in: ACCESS_TOKEN_TTL_S };
  }

  /** The app a usable token belongs to, otherwise the errcode WeChat answers. */
  checkAccessToken(accessToken: string): Outcome<string> {
    const record = this.accessTokens.get(accessToken);
    if (record === undefined) return { ok: false, errcode: 40001 };
    if (this.now() < record.expiresAtMs) return { ok: true, value: record.appid };
    return { ok: false, errcode: record.replaced ? 40001 : 42001 };
  }

  /** Sets the verdict of the next media check of `appid`, or of any app. */
  setMediaVerdict(appid: string | undefined, verdict: MediaVerdict): void {
    this.mediaVerdicts.set(appid ?? ANY_APP, verdict);
  }

  /** The verdict set for this app's next media check (or any app's), used up; else undefined. */
  takeMediaVerdict(appid: string): MediaVerdict | undefined {
    for (const key of [appid, ANY_APP]) {
      const verdict = this.mediaVerdicts.get(key);
      if (verdict === undefined) continue;
      this.mediaVerdicts.delete(key);
      return verdict;
    }
    return undefined;
  }

  recordPush(record: PushRecord): void {
    this.pushes.push(record);
    if (this.pushes.length > MAX_SMS_KEPT) this.pushes.shift();
  }

  /** The pushes made, newest first. */
  pushesMade(): PushRecord[] {
    return this.pushes.slice().reverse();
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
    this.mediaVerdicts.clear();
    this.openidApps.clear();
    this.pushes = [];
    this.faults.clear();
    this.calls = zeroCalls();
    this.smsSent = [];
  }
}
