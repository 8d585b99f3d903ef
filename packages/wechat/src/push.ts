import {
  createCipheriv,
  createDecipheriv,
  createHash,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { z } from "zod";
import {
  ContentCheckDetailsSchema,
  ContentCheckResultSchema,
  IntegerSchema,
} from "./content-check.js";
import type { ContentCheckDetail, ContentCheckResult } from "./types.js";

/**
 * WeChat's message push ("消息推送") as a mini program's server receives it, in the JSON data
 * format, in plaintext mode and in safe mode (compatibility mode is safe mode with plaintext fields
 * beside `Encrypt`, and is read as safe mode). See README.md for the documents this follows.
 */

/** Why a push was refused. Every refusal means: answer an error, change nothing. */
export type PushRejection =
  /** `signature` or `msg_signature` is missing or wrong: not from WeChat, or not for this token. */
  | "bad_signature"
  /** Plaintext where an EncodingAESKey is configured (or the reverse): the modes disagree. */
  | "encryption_mismatch"
  /** `Encrypt` is not ciphertext of this key: bad base64, length, padding or inner length. */
  | "bad_ciphertext"
  /** The decrypted message ends in another appid: pushed for another app. */
  | "wrong_appid"
  /** The body, or the decrypted message, is not a JSON object. */
  | "bad_body"
  /** A known event lacks a field it must have (e.g. `trace_id`, `OpenID`). */
  | "bad_event"
  /** Signed more than PUSH_MAX_AGE_S from now: a captured push replayed, or a clock far off. */
  | "stale";

export class WechatPushError extends Error {
  override readonly name = "WechatPushError";
  constructor(
    readonly reason: PushRejection,
    message: string,
  ) {
    super(message);
  }
}

/** The query parameters WeChat puts on a push URL. Express's `req.query` fits. */
export type PushQuery = Readonly<Record<string, unknown>>;

export interface WechatPushOptions {
  /** The mini program's appid; safe-mode messages must end in it. */
  appid: string;
  /** The Token of the message push configuration. */
  token: string;
  /**
   * The EncodingAESKey (43 characters) for safe mode. When it is set, only encrypted pushes are
   * accepted: a plaintext push's signature does not cover its body, so accepting one would let a
   * replayed signature carry any body.
   */
  encodingAesKey?: string;
}

/**
 * How far a push's signed `timestamp` may be from the receiver's clock. WeChat signs each delivery
 * when it sends it and retries within seconds; a push replayed later than this is refused, so a
 * receiver that remembers handled pushes for longer than this never acts on one twice.
 */
export const PUSH_MAX_AGE_S = 60 * 60;

const ENCODING_AES_KEY_PATTERN = /^[A-Za-z0-9]{43}$/;
/** WeChat pads to a multiple of 32 bytes (PKCS#7 with k = 32), not to AES's 16-byte block. */
const PAD_BLOCK = 32;
const RANDOM_BYTES = 16;
const LENGTH_BYTES = 4;

/** `sha1` of the parts sorted and joined: `signature` (token, timestamp, nonce) and
 * `msg_signature` (the same plus `Encrypt`). */
export function pushSignature(...parts: string[]): string {
  return createHash("sha1")
    .update([...parts].sort().join(""))
    .digest("hex");
}

/** The 32-byte AES key: base64decode(EncodingAESKey + "="). Throws on a malformed key. */
export function aesKeyOf(encodingAesKey: string): Buffer {
  if (!ENCODING_AES_KEY_PATTERN.test(encodingAesKey)) {
    throw new Error("EncodingAESKey must be 43 letters and digits");
  }
  return Buffer.from(`${encodingAesKey}=`, "base64");
}

/**
 * `Encrypt` for `message`: AES-256-CBC with the key and, as IV, the key's first 16 bytes, over
 * 16 random bytes + the message's byte length (4 bytes, big-endian) + the message + the appid,
 * PKCS#7-padded to 32 bytes; base64.
 */
export function encryptPushMessage(
  key: Buffer,
  appid: string,
  message: string,
  random: Buffer = randomBytes(RANDOM_BYTES),
): string {
  if (random.length !== RANDOM_BYTES) throw new Error("random must be 16 bytes");
  const body = Buffer.from(message, "utf8");
  const length = Buffer.alloc(LENGTH_BYTES);
  length.writeUInt32BE(body.length);
  const plain = Buffer.concat([random, length, body, Buffer.from(appid, "utf8")]);
  const pad = PAD_BLOCK - (plain.length % PAD_BLOCK);
  const cipher = createCipheriv("aes-256-cbc", key, key.subarray(0, 16)).setAutoPadding(false);
  return Buffer.concat([
    cipher.update(Buffer.concat([plain, Buffer.alloc(pad, pad)])),
    cipher.final(),
  ]).toString("base64");
}

/** The message inside `encrypted`, after checking its padding, its length and its appid. */
export function decryptPushMessage(key: Buffer, appid: string, encrypted: string): string {
  const ciphertext = Buffer.from(encrypted, "base64");
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    throw new WechatPushError("bad_ciphertext", "Encrypt is not whole AES blocks of base64");
  }
  const decipher = createDecipheriv("aes-256-cbc", key, key.subarray(0, 16)).setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  const pad = padded[padded.length - 1] ?? 0;
  const plainLength = padded.length - pad;
  if (
    pad < 1 ||
    pad > PAD_BLOCK ||
    plainLength < RANDOM_BYTES + LENGTH_BYTES ||
    !padded.subarray(plainLength).every((byte) => byte === pad)
  ) {
    throw new WechatPushError("bad_ciphertext", "Encrypt does not decrypt under this key");
  }
  const messageLength = padded.readUInt32BE(RANDOM_BYTES);
  const messageStart = RANDOM_BYTES + LENGTH_BYTES;
  const messageEnd = messageStart + messageLength;
  if (messageEnd > plainLength) {
    throw new WechatPushError("bad_ciphertext", "Encrypt's message length runs past its end");
  }
  const trailingAppid = padded.subarray(messageEnd, plainLength).toString("utf8");
  if (trailingAppid !== appid) {
    throw new WechatPushError("wrong_appid", "the message was encrypted for another appid");
  }
  return padded.subarray(messageStart, messageEnd).toString("utf8");
}

/** Throws `stale` when the signed `timestamp` (seconds) is more than PUSH_MAX_AGE_S from `now`. */
function refuseStale(query: PushQuery, now: number | undefined): void {
  if (now === undefined) return;
  const signedAt = Number(stringParam(query, "timestamp"));
  if (!Number.isFinite(signedAt) || Math.abs(now / 1000 - signedAt) > PUSH_MAX_AGE_S) {
    throw new WechatPushError("stale", `signed more than ${PUSH_MAX_AGE_S} s from now`);
  }
}

function stringParam(query: PushQuery, name: string): string | undefined {
  const value = query[name];
  return typeof value === "string" ? value : undefined;
}

function sameHex(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(given.toLowerCase(), "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}

function jsonObject(text: string, what: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WechatPushError("bad_body", `${what} is not JSON`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new WechatPushError("bad_body", `${what} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** A push as WeChat sends it: the URL's query and the JSON body. */
export interface SealedPush {
  query: Record<string, string>;
  body: string;
}

/**
 * The push endpoint of one app: checks WeChat's GET server-address check, opens POSTed pushes, and
 * (for the sandbox and tests) seals messages exactly as WeChat does.
 */
export class WechatPush {
  readonly appid: string;
  private readonly token: string;
  private readonly key: Buffer | undefined;

  constructor(options: WechatPushOptions) {
    this.appid = options.appid;
    this.token = options.token;
    this.key = options.encodingAesKey === undefined ? undefined : aesKeyOf(options.encodingAesKey);
  }

  get encrypted(): boolean {
    return this.key !== undefined;
  }

  /**
   * The GET check WeChat makes when the push address is saved: `echostr` to answer when
   * `signature` = sha1(sort(token, timestamp, nonce)) holds, otherwise null.
   */
  verifyServer(query: PushQuery): string | null {
    const echostr = stringParam(query, "echostr");
    return echostr !== undefined && this.signatureHolds(query) ? echostr : null;
  }

  /**
   * The message of a POSTed push, decrypted in safe mode. Throws WechatPushError, having changed
   * nothing, when the push is not from WeChat for this app, or (given `now`, in ms) when it was
   * signed more than PUSH_MAX_AGE_S away from `now`.
   */
  open(query: PushQuery, body: string, options: { now?: number } = {}): Record<string, unknown> {
    const encrypted = stringParam(query, "encrypt_type") === "aes";
    if (this.key === undefined) {
      if (encrypted) {
        throw new WechatPushError("encryption_mismatch", "encrypted push, but no EncodingAESKey");
      }
      if (!this.signatureHolds(query)) {
        throw new WechatPushError("bad_signature", "signature does not match the token");
      }
      refuseStale(query, options.now);
      return jsonObject(body, "the push body");
    }
    if (!encrypted) {
      throw new WechatPushError("encryption_mismatch", "plaintext push, but safe mode is on");
    }
    const envelope = jsonObject(body, "the push body");
    const encrypt = envelope.Encrypt;
    if (typeof encrypt !== "string") {
      throw new WechatPushError("bad_body", "the push body has no Encrypt");
    }
    const timestamp = stringParam(query, "timestamp");
    const nonce = stringParam(query, "nonce");
    if (
      timestamp === undefined ||
      nonce === undefined ||
      !sameHex(
        pushSignature(this.token, timestamp, nonce, encrypt),
        stringParam(query, "msg_signature"),
      )
    ) {
      throw new WechatPushError("bad_signature", "msg_signature does not match");
    }
    refuseStale(query, options.now);
    return jsonObject(decryptPushMessage(this.key, this.appid, encrypt), "the decrypted message");
  }

  /**
   * `message` as WeChat would push it to this app: signed, and in safe mode encrypted into
   * `{ ToUserName, Encrypt }` with `encrypt_type=aes` and `msg_signature`.
   */
  seal(
    message: Readonly<Record<string, unknown>>,
    options: { timestamp?: string; nonce?: string; random?: Buffer } = {},
  ): SealedPush {
    const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000));
    const nonce = options.nonce ?? String(randomBytes(4).readUInt32BE());
    const query: Record<string, string> = {
      signature: pushSignature(this.token, timestamp, nonce),
      timestamp,
      nonce,
    };
    const text = JSON.stringify(message);
    if (this.key === undefined) return { query, body: text };
    const encrypt = encryptPushMessage(this.key, this.appid, text, options.random);
    query.encrypt_type = "aes";
    query.msg_signature = pushSignature(this.token, timestamp, nonce, encrypt);
    return { query, body: JSON.stringify({ ToUserName: message.ToUserName, Encrypt: encrypt }) };
  }

  private signatureHolds(query: PushQuery): boolean {
    const timestamp = stringParam(query, "timestamp");
    const nonce = stringParam(query, "nonce");
    if (timestamp === undefined || nonce === undefined) return false;
    return sameHex(pushSignature(this.token, timestamp, nonce), stringParam(query, "signature"));
  }
}

/** The verdict of a mediaCheckAsync, matched to the call by `traceId`. */
export interface MediaCheckEvent {
  type: "wxa_media_check";
  appid: string;
  traceId: string;
  version: number;
  /** Non-zero when WeChat could not check the media (e.g. 43104); `result` is then null. */
  errcode: number;
  result: ContentCheckResult | null;
  detail: ContentCheckDetail[];
  message: Record<string, unknown>;
}

/** The user withdrew something they had authorized (`revokeInfo`: "6" nickname and avatar, ...). */
export interface UserAuthorizationRevokeEvent {
  type: "user_authorization_revoke";
  appid: string;
  openid: string;
  unionid: string | null;
  revokeInfo: string | null;
  message: Record<string, unknown>;
}

/** The user finished cancelling their authorization: WeChat asks for their data to be deleted. */
export interface UserAuthorizationCancellationEvent {
  type: "user_authorization_cancellation";
  appid: string;
  openid: string;
  unionid: string | null;
  message: Record<string, unknown>;
}

/** WeChat cleaned a risky nickname or avatar: refresh or clear the copy kept. */
export interface UserInfoModifiedEvent {
  type: "user_info_modified";
  appid: string;
  /** Documented, yet reported missing in some pushes. */
  openid: string | null;
  unionid: string | null;
  message: Record<string, unknown>;
}

/** Any other message or event, passed through untouched. */
export interface UnknownPushEvent {
  type: "unknown";
  /** The message's `Event` (or `MsgType` when it has none). */
  event: string | null;
  message: Record<string, unknown>;
}

export type WechatPushEvent =
  | MediaCheckEvent
  | UserAuthorizationRevokeEvent
  | UserAuthorizationCancellationEvent
  | UserInfoModifiedEvent
  | UnknownPushEvent;

const id = z.string().min(1);
const optionalId = z.string().min(1).optional().catch(undefined);

const MediaCheckSchema = z.object({
  appid: id,
  trace_id: id,
  version: IntegerSchema,
  errcode: IntegerSchema.optional(),
  result: ContentCheckResultSchema.optional(),
  detail: ContentCheckDetailsSchema.optional(),
});

const UserEventSchema = z.object({
  AppID: id,
  OpenID: id,
  UnionID: optionalId,
  RevokeInfo: z
    .union([z.string(), z.number().transform(String)])
    .optional()
    .catch(undefined),
});

const UserInfoModifiedSchema = UserEventSchema.extend({ OpenID: optionalId });

function parsed<T>(schema: z.ZodType<T>, fields: Record<string, unknown>, event: string): T {
  const result = schema.safeParse(fields);
  if (result.success) return result.data;
  const paths = result.error.issues.map((issue) => issue.path.join(".")).join(", ");
  throw new WechatPushError("bad_event", `${event} lacks or garbles ${paths}`);
}

/**
 * The typed event of an opened push message. Unknown events come back as `unknown`; a known event
 * missing a required field throws WechatPushError `bad_event`.
 */
export function parsePushEvent(message: Record<string, unknown>): WechatPushEvent {
  // WeChat's own JSON sample of the user events writes " OpenID", " AppID", " RevokeInfo" with a
  // leading space; keys are read trimmed so either spelling is understood.
  const fields = Object.fromEntries(Object.entries(message).map(([key, v]) => [key.trim(), v]));
  const event = typeof fields.Event === "string" ? fields.Event : null;
  switch (event) {
    case "wxa_media_check": {
      const check = parsed(MediaCheckSchema, fields, event);
      const errcode = check.errcode ?? 0;
      return {
        type: event,
        appid: check.appid,
        traceId: check.trace_id,
        version: check.version,
        errcode,
        result: errcode === 0 ? (check.result ?? null) : null,
        detail: check.detail ?? [],
        message,
      };
    }
    case "user_authorization_revoke": {
      const user = parsed(UserEventSchema, fields, event);
      return {
        type: event,
        appid: user.AppID,
        openid: user.OpenID,
        unionid: user.UnionID ?? null,
        revokeInfo: user.RevokeInfo ?? null,
        message,
      };
    }
    case "user_authorization_cancellation": {
      const user = parsed(UserEventSchema, fields, event);
      return {
        type: event,
        appid: user.AppID,
        openid: user.OpenID,
        unionid: user.UnionID ?? null,
        message,
      };
    }
    case "user_info_modified": {
      const user = parsed(UserInfoModifiedSchema, fields, event);
      return {
        type: event,
        appid: user.AppID,
        openid: user.OpenID ?? null,
        unionid: user.UnionID ?? null,
        message,
      };
    }
    default: {
      const msgType = typeof fields.MsgType === "string" ? fields.MsgType : null;
      return { type: "unknown", event: event ?? msgType, message };
    }
  }
}
