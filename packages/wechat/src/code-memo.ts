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
import { OffHeapTtlMap } from "./off-heap-ttl-map.js";
import type { SharedStore, WechatLogger, WechatSession } from "./types.js";

/** A stored value with this prefix is a claim: some process is asking WeChat right now. */
const PENDING_PREFIX = "pending:";
const SEALED_PREFIX = "v1.";
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
  /** Milliseconds since the epoch. Default `Date.now`. */
  now?: () => number;
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
 * open the entry; the entry is named by a SHA-256 of appid and code, so the store does not learn
 * the code. With a process-local store (`processLocal`) no other process can be asking, so there
 * is nothing to claim: the outcomes stay in this memo, as JSON in an OffHeapTtlMap under that same
 * digest. There they cost the JS heap nothing, where the store's strings cost about 530 bytes a
 * code, all of them marked by every major garbage collection (bench/code-memo-heap.ts).
 */
export class CodeMemo {
  private readonly inflight = new Map<string, Promise<WechatSession>>();
  /** With a process-local store: the outcomes of this process's codes. */
  private readonly local: OffHeapTtlMap | undefined;

  constructor(private readonly options: CodeMemoOptions) {
    if (options.store.processLocal) {
      this.local = new OffHeapTtlMap({ ttlMs: options.ttlMs, now: options.now });
    }
  }

  exchange(
    code: string,
    budget: CallBudget,
    askWechat: (budget: CallBudget) => Promise<WechatSession>,
  ): Promise<WechatSession> {
    const digest = this.digestOf(code);
    const key = digest.toString("hex");
    const shared = this.inflight.get(key);
    if (shared) return within(shared, budget);
    const exchange = (
      this.local
        ? this.exchangeLocally(this.local, digest, budget, askWechat)
        : this.exchangeShared(this.storeKey(key), code, budget, askWechat)
    ).finally(() => {
      this.inflight.delete(key);
    });
    this.inflight.set(key, exchange);
    return exchange;
  }

  /** The store key of a code's entry in a shared store. */
  keyFor(code: string): string {
    return this.storeKey(this.digestOf(code).toString("hex"));
  }

  private digestOf(code: string): Buffer {
    return createHash("sha256").update(this.options.appid).update(":").update(code).digest();
  }

  private storeKey(hexDigest: string): string {
    return `wxauth:wechat:${this.options.appid}:code:${hexDigest}`;
  }

  private async exchangeLocally(
    local: OffHeapTtlMap,
    digest: Buffer,
    budget: CallBudget,
    askWechat: (budget: CallBudget) => Promise<WechatSession>,
  ): Promise<WechatSession> {
    const remembered = local.get(digest);
    if (remembered !== undefined) return this.replay(parseOutcome(remembered));
    return this.askAndRemember(budget, askWechat, {
      remember: async (outcome) => local.set(digest, JSON.stringify(outcome)),
      release: async () => {},
    });
  }

  private async exchangeShared(
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
        return this.askAndRemember(budget, askWechat, {
          remember: (outcome) => this.rememberShared(key, code, outcome),
          release: async () => {
            await store.deleteIfEquals(key, claim).catch(() => false);
          },
        });
      }
      const raw = await store.get(key);
      if (raw !== null && !raw.startsWith(PENDING_PREFIX)) {
        return this.replay(unseal(raw, code, this.options.appid));
      }
      // Still pending elsewhere (or released a moment ago: then the next claim succeeds).
      if (raw !== null) await sleepWithin(withJitter(delayMs), budget);
    }
  }

  /**
   * Asks WeChat; remembers a session or a definitive error about the code, and releases the code
   * for a retry after anything else.
   */
  private async askAndRemember(
    budget: CallBudget,
    askWechat: (budget: CallBudget) => Promise<WechatSession>,
    outcomes: { remember(outcome: MemoOutcome): Promise<void>; release(): Promise<void> },
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
        await outcomes.remember({ ok: false, errcode: error.errcode, errmsg: error.errmsg });
      } else {
        await outcomes.release();
      }
      throw error;
    }
    await outcomes.remember({ ok: true, session });
    return session;
  }

  /** A store failure here must not cost the caller a session WeChat already handed out. */
  private async rememberShared(key: string, code: string, outcome: MemoOutcome): Promise<void> {
    try {
      await this.options.store.set(
        key,
        seal(outcome, code, this.options.appid),
        this.options.ttlMs,
      );
    } catch {
      this.options.logger.warn(
        { api: "jscode2session" },
        "could not store the code-exchange outcome",
      );
    }
  }

  private replay(outcome: MemoOutcome | undefined): WechatSession {
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
