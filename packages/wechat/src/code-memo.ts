import { createHash, randomUUID } from "node:crypto";
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
import { Sealer, dataKeyFromSecret } from "./sealing.js";
import type { SharedStore, WechatLogger, Code2SessionResult } from "./types.js";

/** A stored value with this prefix is a claim: some process is asking WeChat right now. */
const PENDING_PREFIX = "pending:";

const MemoOutcomeSchema = z.discriminatedUnion("ok", [
  z.object({
    ok: z.literal(true),
    result: z.object({
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
 * The outcome is sealed under a key derived from the code itself, so the store never holds a
 * readable session_key and only a holder of the code can open the entry; the entry is named by a
 * SHA-256 of appid and code, so the store does not learn the code.
 */
export class CodeMemo {
  private readonly inflight = new Map<string, Promise<Code2SessionResult>>();

  constructor(private readonly options: CodeMemoOptions) {}

  exchange(
    code: string,
    budget: CallBudget,
    askWechat: (budget: CallBudget) => Promise<Code2SessionResult>,
  ): Promise<Code2SessionResult> {
    const key = this.keyFor(code);
    const shared = this.inflight.get(key);
    if (shared) return within(shared, budget);
    const exchange = this.claimOrWait(key, code, budget, askWechat).finally(() => {
      this.inflight.delete(key);
    });
    this.inflight.set(key, exchange);
    return exchange;
  }

  /** The store key of a code's entry. */
  keyFor(code: string): string {
    const { appid } = this.options;
    const digest = createHash("sha256").update(`${appid}:${code}`).digest("hex");
    return `wxauth:wechat:${appid}:code:${digest}`;
  }

  private async claimOrWait(
    key: string,
    code: string,
    budget: CallBudget,
    askWechat: (budget: CallBudget) => Promise<Code2SessionResult>,
  ): Promise<Code2SessionResult> {
    const { store } = this.options;
    // Keyed by the code itself: only a process that holds the code can read its outcome.
    const sealer = new Sealer(
      [dataKeyFromSecret("code", code)],
      `wechat-code-memo:${this.options.appid}`,
    );
    const claim = `${PENDING_PREFIX}${randomUUID()}`;
    for (let delayMs = POLL_MIN_MS; ; delayMs = Math.min(delayMs * 2, POLL_MAX_MS)) {
      if (budget.aborted) throw budget.timeoutError();
      // The claim outlives the budget of the call that made it by nothing: if that process dies,
      // the others may try as soon as it could no longer answer anyway.
      if (await store.setIfAbsent(key, claim, budget.ms)) {
        return this.askAndRemember(budget, askWechat, {
          remember: (outcome) => this.remember(key, sealer.seal(JSON.stringify(outcome))),
          release: () => store.deleteIfEquals(key, claim).catch(() => false),
        });
      }
      const raw = await store.get(key);
      if (raw !== null && !raw.startsWith(PENDING_PREFIX)) return this.replay(open(sealer, raw));
      // Still pending elsewhere (or released a moment ago: then the next claim succeeds).
      if (raw !== null) await sleepWithin(withJitter(delayMs), budget);
    }
  }

  /**
   * Asks WeChat; remembers a result or a definitive error about the code, and releases the code
   * for a retry after anything else.
   */
  private async askAndRemember(
    budget: CallBudget,
    askWechat: (budget: CallBudget) => Promise<Code2SessionResult>,
    outcomes: { remember(outcome: MemoOutcome): Promise<void>; release(): Promise<unknown> },
  ): Promise<Code2SessionResult> {
    let result: Code2SessionResult;
    try {
      result = await askWechat(budget);
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
    await outcomes.remember({ ok: true, result });
    return result;
  }

  /** A store failure here must not cost the caller a session_key WeChat already handed out. */
  private async remember(key: string, sealed: string): Promise<void> {
    try {
      await this.options.store.set(key, sealed, this.options.ttlMs);
    } catch {
      this.options.logger.warn(
        { api: "jscode2session" },
        "could not store the code-exchange outcome",
      );
    }
  }

  private replay(outcome: MemoOutcome | undefined): Code2SessionResult {
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
    if (outcome.ok) return outcome.result;
    throw errorFromErrcode("jscode2session", outcome.errcode, outcome.errmsg);
  }
}

/** The outcome sealed in `raw`, or undefined when it was not sealed under this code or is garbled. */
function open(sealer: Sealer, raw: string): MemoOutcome | undefined {
  try {
    const parsed = MemoOutcomeSchema.safeParse(JSON.parse(sealer.open(raw)));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
