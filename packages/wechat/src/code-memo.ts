import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  randomUUID,
} from "node:crypto";
import { z } from "zod";
import {
  type CallBudget,
  POLL_MAX_MS,
  POLL_MIN_MS,
  sleepWithin,
  within,
  withJitter,
} from "./budget.js";
import {
  ERRCODE_NONE,
  WechatApiError,
  errorFromErrcode,
  isDefinitiveCodeErrcode,
} from "./errors.js";
import type { SharedStore, WechatLogger, WechatSession } from "./types.js";

/** A stored value with this prefix is a claim: some process is asking WeChat right now. */
const PENDING_PREFIX = "pending:";
const SEALED_PREFIX = "v1.";
/** An outcome as JSON, only ever written to and read from a process-local store. */
const PLAIN_PREFIX = "plain:";
const KEY_INFO = "wxauth:wechat:code-memo:v1";
const HKDF_FIRST_BLOCK = Buffer.from([1]);
const IV_BYTES = 12;
const TAG_BYTES = 16;

const MemoOutcomeSchema = z.discriminatedUnion("ok", [
  z.object({
    ok: z.literal(true),
    session: z.object({
      openid: z.string(),
      unionid: z.string().nullable(),
      sessionKey: z.string(),
    }),
  }),
  z.object({ ok: z.literal(false), errcode: z.number(), errmsg: z.string() }),
]);
type MemoOutcome = z.infer<typeof MemoOutcomeSchema>;

export interface CodeMemoOptions {
  appid: string;
  store: SharedStore;
  ttlMs: number;
  logger: WechatLogger;
}

/**
 * Makes a login code reach WeChat once, however often it is submitted and by however many
 * processes: callers in one process share the in-flight promise; across processes the first to
 * claim the code's key in the store asks WeChat and stores the outcome, the others poll for it.
 *
 * Successes and definitive answers about the code (40029, 40163, 40226) are remembered for
 * `ttlMs`; anything transient releases the claim so a retry reaches WeChat again.
 *
 * In a shared store (Redis) the outcome is sealed with AES-256-GCM under a key derived from the
 * code itself, so the store never holds a readable session_key and only a holder of the code can
 * open the entry. A process-local store (`processLocal`) keeps it as JSON: nobody else reads it,
 * and sealing cost a login about 30 µs of the event loop. Either way the entry is named by a
 * SHA-256 of appid and code, so the store does not learn the code.
 */
export class CodeMemo {
  private readonly inflight = new Map<string, Promise<WechatSession>>();

  constructor(private readonly options: CodeMemoOptions) {}

  exchange(
    code: string,
    budget: CallBudget,
    askWechat: (budget: CallBudget) => Promise<WechatSession>,
  ): Promise<WechatSession> {
    const key = this.keyFor(code);
    const shared = this.inflight.get(key);
    if (shared) return within(shared, budget);
    const exchange = this.exchangeOnce(key, code, budget, askWechat).finally(() => {
      this.inflight.delete(key);
    });
    this.inflight.set(key, exchange);
    return exchange;
  }

  /** The store key of a code's entry. */
  keyFor(code: string): string {
    const digest = createHash("sha256").update(this.options.appid).update(":").update(code);
    return `wxauth:wechat:${this.options.appid}:code:${digest.digest("hex")}`;
  }

  private async exchangeOnce(
    key: string,
    code: string,
    budget: CallBudget,
    askWechat: (budget: CallBudget) => Promise<WechatSession>,
  ): Promise<WechatSession> {
    const { store } = this.options;
    const claim = `${PENDING_PREFIX}${randomUUID()}`;
    for (let delayMs = POLL_MIN_MS; ; delayMs = Math.min(delayMs * 2, POLL_MAX_MS)) {
      if (budget.aborted) throw budget.timeoutError();
      // The claim outlives the budget of the call that made it by nothing: if that process dies,
      // the others may try as soon as it could no longer answer anyway.
      if (await store.setIfAbsent(key, claim, budget.ms)) {
        return this.askAndRemember(key, code, claim, budget, askWechat);
      }
      const raw = await store.get(key);
      if (raw !== null && !raw.startsWith(PENDING_PREFIX)) return this.replay(raw, code);
      // Still pending elsewhere (or released a moment ago: then the next claim succeeds).
      if (raw !== null) await sleepWithin(withJitter(delayMs), budget);
    }
  }

  private async askAndRemember(
    key: string,
    code: string,
    claim: string,
    budget: CallBudget,
    askWechat: (budget: CallBudget) => Promise<WechatSession>,
  ): Promise<WechatSession> {
    let session: WechatSession;
    try {
      session = await askWechat(budget);
    } catch (error) {
      const definitive =
        error instanceof WechatApiError &&
        error.kind === "wechat" &&
        isDefinitiveCodeErrcode(error.errcode);
      if (definitive) {
        await this.remember(key, code, { ok: false, errcode: error.errcode, errmsg: error.errmsg });
      } else {
        await this.options.store.deleteIfEquals(key, claim).catch(() => false);
      }
      throw error;
    }
    await this.remember(key, code, { ok: true, session });
    return session;
  }

  /** A store failure here must not cost the caller a session WeChat already handed out. */
  private async remember(key: string, code: string, outcome: MemoOutcome): Promise<void> {
    try {
      const { store } = this.options;
      const entry = store.processLocal
        ? `${PLAIN_PREFIX}${JSON.stringify(outcome)}`
        : seal(outcome, code, this.options.appid);
      await store.set(key, entry, this.options.ttlMs);
    } catch {
      this.options.logger.warn(
        { api: "jscode2session" },
        "could not store the code-exchange outcome",
      );
    }
  }

  private replay(raw: string, code: string): WechatSession {
    const outcome =
      this.options.store.processLocal && raw.startsWith(PLAIN_PREFIX)
        ? parseOutcome(raw.slice(PLAIN_PREFIX.length))
        : unseal(raw, code, this.options.appid);
    if (outcome === undefined) {
      this.options.logger.error({ api: "jscode2session" }, "unreadable code-exchange memo entry");
      throw new WechatApiError({
        api: "jscode2session",
        kind: "parse",
        errcode: ERRCODE_NONE,
        errmsg: "unreadable code-exchange memo entry",
        retryable: false,
      });
    }
    if (outcome.ok) return outcome.session;
    throw errorFromErrcode("jscode2session", outcome.errcode, outcome.errmsg);
  }
}

/**
 * HKDF-SHA256 (RFC 5869) of the code, salted with the appid, 32 bytes: extract, then the one
 * expand block 32 bytes need. The same bytes as `hkdfSync`, in half its time; it runs once per
 * login (code-memo.test.ts checks the two agree).
 */
export function cipherKey(code: string, appid: string): Buffer {
  const pseudoRandomKey = createHmac("sha256", appid).update(code).digest();
  return createHmac("sha256", pseudoRandomKey).update(KEY_INFO).update(HKDF_FIRST_BLOCK).digest();
}

function seal(outcome: MemoOutcome, code: string, appid: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", cipherKey(code, appid), iv);
  const ciphertext = Buffer.concat([
    cipher.update(JSON.stringify(outcome), "utf8"),
    cipher.final(),
  ]);
  const sealed = Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
  return `${SEALED_PREFIX}${sealed.toString("base64url")}`;
}

function unseal(raw: string, code: string, appid: string): MemoOutcome | undefined {
  if (!raw.startsWith(SEALED_PREFIX)) return undefined;
  try {
    const sealed = Buffer.from(raw.slice(SEALED_PREFIX.length), "base64url");
    const decipher = createDecipheriv(
      "aes-256-gcm",
      cipherKey(code, appid),
      sealed.subarray(0, IV_BYTES),
    );
    decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)),
      decipher.final(),
    ]).toString("utf8");
    return parseOutcome(plain);
  } catch {
    return undefined;
  }
}

function parseOutcome(json: string): MemoOutcome | undefined {
  try {
    const parsed = MemoOutcomeSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
