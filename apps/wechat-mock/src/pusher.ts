import { performance } from "node:perf_hooks";
import type { SandboxApp } from "@wxauth/contracts/sandbox";
import { WechatPush } from "@wxauth/wechat";
import { originalIdOf } from "./apps.js";
import type { SandboxState } from "./state.js";

/** WeChat waits 5 s for the developer's server to answer a push. */
export const PUSH_TIMEOUT_MS = 5000;
/** What a push answer is cut to in logs and records. */
const ANSWER_KEPT_CHARS = 200;

export interface Delivery {
  /** The receiver's HTTP status; null when it could not be reached or did not answer in time. */
  status: number | null;
  answer: string;
  /** WeChat counts a push as received when the answer is `success` or empty. */
  ok: boolean;
}

/**
 * Pushes messages to an app's push address as WeChat's message push does: JSON data format, a
 * `signature` over Token, timestamp and nonce, and with an EncodingAESKey safe mode (the message
 * encrypted into `Encrypt`, plus `encrypt_type=aes` and `msg_signature`). One log line per push.
 */
export class Pusher {
  private readonly closing = new AbortController();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly state: SandboxState,
    private readonly log: (line: string) => void,
  ) {}

  /** `message` with WeChat's envelope fields filled in where absent. */
  envelope(app: SandboxApp, message: Readonly<Record<string, unknown>>): Record<string, unknown> {
    return {
      ToUserName: originalIdOf(app.appid),
      CreateTime: Math.floor(this.state.now() / 1000),
      MsgType: "event",
      ...message,
    };
  }

  /** Sends `message` `times` times as one identical request (WeChat's retries repeat it as is). */
  async push(
    app: SandboxApp,
    message: Readonly<Record<string, unknown>>,
    times = 1,
  ): Promise<Delivery[]> {
    const event = typeof message.Event === "string" ? message.Event : null;
    const traceId = typeof message.trace_id === "string" ? message.trace_id : undefined;
    const encrypted = app.pushAesKey !== undefined;
    const record = (delivery: Delivery) =>
      this.state.recordPush({
        ...delivery,
        appid: app.appid,
        event,
        traceId,
        encrypted,
        sentAtMs: this.state.now(),
      });
    if (app.pushUrl === undefined || app.pushToken === undefined) {
      const delivery = { status: null, answer: "no push address configured", ok: false };
      this.log(`PUSH - appid=${app.appid} event=${event ?? "-"} skipped: no push address or Token`);
      record(delivery);
      return [delivery];
    }
    const sealer = new WechatPush({
      appid: app.appid,
      token: app.pushToken,
      encodingAesKey: app.pushAesKey,
    });
    const sealed = sealer.seal(message, {
      timestamp: String(Math.floor(this.state.now() / 1000)),
    });
    const url = new URL(app.pushUrl);
    for (const [name, value] of Object.entries(sealed.query)) url.searchParams.set(name, value);
    const deliveries: Delivery[] = [];
    for (let attempt = 0; attempt < times; attempt++) {
      const started = performance.now();
      const delivery = await this.deliver(url, sealed.body);
      const ms = (performance.now() - started).toFixed(1);
      this.log(
        `PUSH ${url.pathname} appid=${app.appid} event=${event ?? "-"} mode=${encrypted ? "safe" : "plaintext"} ` +
          `status=${delivery.status ?? "-"} answer=${JSON.stringify(delivery.answer.slice(0, 40))} ${ms}ms`,
      );
      record(delivery);
      deliveries.push(delivery);
    }
    return deliveries;
  }

  /** Runs `task` after `delayMs` unless the sandbox closes first. */
  later(delayMs: number, task: () => Promise<unknown>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      task().catch((error: unknown) => console.error("wechat-mock: push failed", error));
    }, delayMs);
    this.timers.add(timer);
  }

  /** Cancels scheduled pushes and aborts those in flight. */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.closing.abort();
  }

  private async deliver(url: URL, body: string): Promise<Delivery> {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: AbortSignal.any([this.closing.signal, AbortSignal.timeout(PUSH_TIMEOUT_MS)]),
      });
      const answer = (await response.text()).slice(0, ANSWER_KEPT_CHARS);
      const ok = response.status === 200 && (answer === "success" || answer === "");
      return { status: response.status, answer, ok };
    } catch (error) {
      const reason = error instanceof Error ? error.name : "error";
      return { status: null, answer: `not delivered (${reason})`, ok: false };
    }
  }
}
