import { randomBytes } from "node:crypto";
import { MemoryStore, type DataKey, type SharedStore } from "@wxauth/wechat";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SmsConfig } from "../config.js";
import type { AppError } from "../errors.js";
import { RedisStore } from "../stores/redis-store.js";
import {
  deleteTestKeys,
  PATIENT_COMMAND_TIMEOUT_MS,
  randomKeyPrefix,
  requireRedis,
  TEST_REDIS_URL,
} from "../testing/redis.js";
import {
  recordingSmsLogger,
  rejectionOf,
  securityEventsLoggedTo,
  startSmsSandbox,
  type SmsSandbox,
} from "../testing/sms.js";
import {
  createSmsCodes,
  SMS_CODE_TTL_MS,
  type SmsCodes,
  type SmsCodesOptions,
} from "./sms-codes.js";
import { createSmsSender, type SmsLogger } from "./sms-sender.js";

const dataKey = (id: string): DataKey => ({ id, key: randomBytes(32) });
const DATA_KEYS = [dataKey("k1")];
const DEFAULT_LIMITS: SmsConfig["limits"] = {
  phoneIntervalS: 60,
  phoneDailyLimit: 10,
  subjectHourlyLimit: 5,
  ipHourlyLimit: 30,
};

/** One place the codes live: an instance's store, and how the test lets time pass for it. */
interface StoreSetup {
  /** Two handles on the same data: two API instances. */
  stores: [SharedStore, SharedStore];
  /** Lets `ms` pass for the store's expiry (a real wait on Redis). */
  pass(ms: number): Promise<void>;
  /** Every value the store holds, to check what it keeps in clear. */
  dump(): Promise<string[]>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const storeKinds: [string, () => Promise<StoreSetup>][] = [
  [
    "in memory",
    async () => {
      let now = Date.UTC(2026, 11, 1, 9);
      const store = new MemoryStore({ now: () => now });
      const raw = store as unknown as { entries: { entries(): Iterable<[string, string]> } };
      return {
        stores: [store, store],
        pass: async (ms) => {
          now += ms;
        },
        dump: async () => [...raw.entries.entries()].flatMap(([key, value]) => [key, value]),
        close: async () => {},
      };
    },
  ],
  [
    "on Redis",
    async () => {
      const keyPrefix = randomKeyPrefix();
      const open = async () => {
        const store = new RedisStore({
          url: TEST_REDIS_URL,
          keyPrefix,
          commandTimeoutMs: PATIENT_COMMAND_TIMEOUT_MS,
        });
        await store.connect();
        return store;
      };
      const stores: [RedisStore, RedisStore] = [await open(), await open()];
      return {
        stores,
        pass: sleep,
        async dump() {
          const client = new Redis(TEST_REDIS_URL);
          try {
            const keys = await client.keys(`${keyPrefix}*`);
            const values = await Promise.all(keys.map((key) => client.get(key)));
            return [...keys, ...values.map(String)];
          } finally {
            await client.quit();
          }
        },
        async close() {
          await Promise.all(stores.map((store) => store.close()));
          await deleteTestKeys(keyPrefix);
        },
      };
    },
  ],
];

let sms: SmsSandbox;
beforeAll(async () => {
  await requireRedis();
  sms = await startSmsSandbox();
});
afterAll(() => sms.close());
beforeEach(() => sms.sandbox.reset());

const sentCount = () => sms.sandbox.state.smsMessages().length;

describe.each(storeKinds)("SMS codes %s", (_kind, setUp) => {
  let setup: StoreSetup;
  let logger: SmsLogger & ReturnType<typeof recordingSmsLogger>;
  beforeEach(async () => {
    setup = await setUp();
    logger = recordingSmsLogger();
  });
  afterEach(() => setup.close());

  /** The codes service of instance 0 or 1. */
  function codes(
    options: Omit<Partial<SmsCodesOptions>, "limits"> & {
      limits?: Partial<SmsConfig["limits"]>;
    } = {},
    instance: 0 | 1 = 0,
  ): SmsCodes {
    return createSmsCodes({
      store: setup.stores[instance],
      sender: sms.sender(logger),
      logSecurityEvent: securityEventsLoggedTo(logger),
      dataKeys: DATA_KEYS,
      ...options,
      limits: { ...DEFAULT_LIMITS, ...options.limits },
    });
  }

  const ticket = (name = "a") => `ticket-hash-${name}`;
  const registration = (phone = "13800138000", subject = ticket(), ip = "203.0.113.7") => ({
    purpose: "register" as const,
    subject,
    phone,
    ip,
  });

  /** Sends a code and reads it from the SMS the sandbox received. */
  async function sendAndRead(service: SmsCodes, input = registration()) {
    const sent = await service.send(input);
    const code = sms.lastCode(sent.phone);
    if (code === undefined) throw new Error("no SMS reached the sandbox");
    return { sent, code };
  }

  it("sends a 6-digit code in the template [code, minutes] and verifies it once", async () => {
    const service = codes();
    const { sent, code } = await sendAndRead(service);
    expect(sent).toEqual({ phone: "+8613800138000", expiresIn: 300, retryAfter: 60 });
    expect(code).toMatch(/^\d{6}$/);
    expect(sms.sandbox.state.smsMessages("+8613800138000")[0]?.params).toEqual([code, "5"]);
    const verified = await service.verify({ ...registration("+8613800138000"), code });
    expect(verified).toEqual({ phone: "+8613800138000" });
    const again = await rejectionOf(service.verify({ ...registration(), code }));
    expect(again.code).toBe("SMS_CODE_INVALID");
    expect(again.status).toBe(401);
  });

  it("expires the code when its lifetime is over", async () => {
    const service = codes({ codeTtlMs: 600 });
    const { code } = await sendAndRead(service);
    await setup.pass(1000);
    expect((await rejectionOf(service.verify({ ...registration(), code }))).code).toBe(
      "SMS_CODE_INVALID",
    );
  });

  it("ends the code after five wrong tries, and not before", async () => {
    const service = codes();
    const first = await sendAndRead(service, registration("13800138000"));
    const wrong = first.code === "000000" ? "111111" : "000000";
    for (let i = 0; i < 4; i++) {
      await rejectionOf(service.verify({ ...registration("13800138000"), code: wrong }));
    }
    await service.verify({ ...registration("13800138000"), code: first.code });

    const second = await sendAndRead(service, registration("13900139000"));
    for (const attempt of ["12345", "abcdef", wrong, wrong, wrong]) {
      const error = await rejectionOf(
        service.verify({ ...registration("13900139000"), code: attempt }),
      );
      expect(error.code).toBe("SMS_CODE_INVALID");
    }
    const exhausted = await rejectionOf(
      service.verify({ ...registration("13900139000"), code: second.code }),
    );
    expect(exhausted.code).toBe("SMS_CODE_INVALID");
  });

  it("binds the code to the phone, the subject and the purpose", async () => {
    const service = codes();
    const { code } = await sendAndRead(service);
    for (const other of [
      registration("13900139000"),
      registration("13800138000", ticket("b")),
      { ...registration(), purpose: "change-phone" as const },
    ]) {
      const error = await rejectionOf(service.verify({ ...other, code }));
      expect(error.code).toBe("SMS_CODE_INVALID");
    }
    await service.verify({ ...registration(), code });
  });

  it("keeps only keyed hashes: the store holds neither the code nor the phone", async () => {
    const { code } = await sendAndRead(codes());
    const stored = (await setup.dump()).join("\n");
    expect(stored).toMatch(/sms:code:/);
    expect(stored).not.toContain(code);
    expect(stored).not.toContain("13800138000");
    expect(stored).not.toContain(ticket());
  });

  it("verifies a code sent before a data-key rotation after it, and hashes new codes under the new key", async () => {
    const [old, next] = [dataKey("old"), dataKey("next")];
    const before = codes({ dataKeys: [old] }, 0);
    const { code } = await sendAndRead(before, registration("13800138000"));
    const rotated = codes({ dataKeys: [next, old] }, 1);
    expect(await rotated.verify({ ...registration("13800138000"), code })).toEqual({
      phone: "+8613800138000",
    });
    // Single use still: the old instance cannot take it again.
    expect((await rejectionOf(before.verify({ ...registration("13800138000"), code }))).code).toBe(
      "SMS_CODE_INVALID",
    );
    // A code sent after the rotation verifies with the old key dropped.
    const after = await sendAndRead(rotated, registration("13900139000"));
    const oldDropped = codes({ dataKeys: [next] }, 0);
    await oldDropped.verify({ ...registration("13900139000"), code: after.code });
  });

  it("ends a code sent under the old first key when a new one is sent under the new", async () => {
    const [old, next] = [dataKey("old"), dataKey("next")];
    const input = registration("13800138000");
    const limits = { phoneIntervalS: 1 };
    const { code: earlier } = await sendAndRead(codes({ dataKeys: [old], limits }, 0), input);
    await setup.pass(1100);
    const rotated = codes({ dataKeys: [next, old], limits }, 1);
    const { code: latest } = await sendAndRead(rotated, input);
    // The earlier code is gone, and with it the only record under the old key.
    expect(
      (await rejectionOf(codes({ dataKeys: [old] }, 0).verify({ ...input, code: earlier }))).code,
    ).toBe("SMS_CODE_INVALID");
    await rotated.verify({ ...input, code: latest });
  });

  it("gives one success to the same code submitted twice at once, across instances", async () => {
    const instances = [codes({}, 0), codes({}, 1)] as const;
    for (let round = 0; round < 10; round++) {
      const input = registration(`1380013800${round}`, ticket(`round-${round}`));
      const { code } = await sendAndRead(instances[0], input);
      const outcomes = await Promise.allSettled(
        instances.map((service) => service.verify({ ...input, code })),
      );
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
      const [failure] = outcomes.filter((outcome) => outcome.status === "rejected");
      expect((failure?.reason as AppError).code).toBe("SMS_CODE_INVALID");
    }
  });

  it("refuses a malformed phone with VALIDATION_FAILED, sending and counting nothing", async () => {
    const service = codes({ limits: { ipHourlyLimit: 1 } });
    for (const phone of ["12345", "+8612345", "138-0013-8000", ""]) {
      const error = await rejectionOf(service.send(registration(phone)));
      expect(error.code).toBe("VALIDATION_FAILED");
    }
    expect(sentCount()).toBe(0);
    await service.send(registration());
  });

  describe("limits", () => {
    async function limited(promise: Promise<unknown>): Promise<number> {
      const error = await rejectionOf(promise);
      expect(error.code).toBe("SMS_RATE_LIMITED");
      expect(error.status).toBe(429);
      expect(error.retryAfterS).toBeGreaterThan(0);
      return error.retryAfterS ?? 0;
    }

    it("sends one code per phone per interval, counted across instances", async () => {
      const first = codes({}, 0);
      const second = codes({}, 1);
      await first.send(registration("13800138000", ticket("a")));
      const retryAfter = await limited(
        second.send(registration("+8613800138000", ticket("b"), "198.51.100.1")),
      );
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(sentCount()).toBe(1);
      await second.send(registration("13900139000", ticket("b")));
      expect(logger.entries.find((entry) => entry.obj.event === "sms_limited")?.obj).toEqual({
        event: "sms_limited",
        userId: null,
        requestId: null,
        purpose: "register",
        limit: "phone-interval",
        retryAfter,
        phone: "138****8000",
      });
    });

    it("counts sends across a data-key rotation: either side of it sees the other's", async () => {
      const [old, next] = [dataKey("old"), dataKey("next")];
      await codes({ dataKeys: [old] }, 0).send(registration("13800138000", ticket("a")));
      // An instance already rotated, while another is not yet (a rolling restart).
      await limited(
        codes({ dataKeys: [next, old] }, 1).send(
          registration("13800138000", ticket("b"), "198.51.100.1"),
        ),
      );
      await codes({ dataKeys: [next, old] }, 1).send(registration("13900139000", ticket("c")));
      await limited(
        codes({ dataKeys: [old] }, 0).send(
          registration("13900139000", ticket("d"), "198.51.100.2"),
        ),
      );
      expect(sentCount()).toBe(2);
    });

    it("sends again once the interval is over", async () => {
      const service = codes({ limits: { phoneIntervalS: 1 } });
      await service.send(registration("13800138000", ticket("a")));
      await setup.pass(1100);
      await service.send(registration("13800138000", ticket("b")));
      expect(sentCount()).toBe(2);
    });

    it("sends at most the daily limit per phone", async () => {
      const service = codes({ limits: { phoneIntervalS: 1, phoneDailyLimit: 2 } });
      for (const name of ["a", "b"]) {
        await service.send(registration("13800138000", ticket(name)));
        await setup.pass(1100);
      }
      const retryAfter = await limited(service.send(registration("13800138000", ticket("c"))));
      expect(retryAfter).toBeGreaterThan(86_000);
      expect(sentCount()).toBe(2);
    });

    it("sends at most the hourly limit per ticket or user", async () => {
      const service = codes({ limits: { subjectHourlyLimit: 2 } });
      await service.send(registration("13800138001"));
      await service.send(registration("13800138002"));
      const retryAfter = await limited(service.send(registration("13800138003")));
      expect(retryAfter).toBeGreaterThan(3500);
      const user = { purpose: "change-phone" as const, subject: "user-1", ip: "203.0.113.7" };
      await service.send({ ...user, phone: "13800138004" });
      expect(sentCount()).toBe(3);
    });

    it("sends at most the hourly limit per client IP, an IPv6 /56 counting as one", async () => {
      const service = codes({ limits: { ipHourlyLimit: 2 } });
      await service.send(registration("13800138001", ticket("a"), "2001:db8:0:1::1"));
      await service.send(registration("13800138002", ticket("b"), "2001:db8:0:2::1"));
      await limited(service.send(registration("13800138003", ticket("c"), "2001:db8:0:3::1")));
      await service.send(registration("13800138004", ticket("d"), "203.0.113.8"));
      expect(sentCount()).toBe(3);
    });
  });

  describe("when the provider does not send", () => {
    it("answers SMS_UNAVAILABLE for a refused number and leaves no code behind", async () => {
      const service = codes();
      const error = await rejectionOf(service.send(registration("+8619900001234")));
      expect(error.code).toBe("SMS_UNAVAILABLE");
      expect(logger.entries.map((entry) => entry.obj.event)).toEqual(["sms_refused"]);
      expect((await setup.dump()).join("\n")).not.toMatch(/sms:code:/);
    });

    it("answers SMS_UNAVAILABLE with SMS_PROVIDER=none", async () => {
      const service = createSmsCodes({
        store: setup.stores[0],
        sender: createSmsSender({ ...sms.config(), provider: "none" }, logger),
        logSecurityEvent: securityEventsLoggedTo(logger),
        dataKeys: DATA_KEYS,
        limits: DEFAULT_LIMITS,
      });
      expect((await rejectionOf(service.send(registration()))).code).toBe("SMS_UNAVAILABLE");
      expect(sentCount()).toBe(0);
    });
  });

  it("logs sms_sent as one line with the request id, the phone masked and no code", async () => {
    const service = codes();
    const sent = await service.send({ ...registration(), requestId: "req-42" });
    const code = sms.lastCode(sent.phone) ?? "";
    await service.verify({ ...registration(), code, requestId: "req-43" });
    expect(logger.entries).toEqual([
      {
        level: "info",
        obj: {
          event: "sms_sent",
          userId: null,
          requestId: "req-42",
          purpose: "register",
          phone: "138****8000",
        },
        msg: expect.any(String),
      },
    ]);
    expect(JSON.stringify(logger.entries)).not.toMatch(new RegExp(`13800138000|${code}`));
  });
});

it("keeps codes for five minutes", () => {
  expect(SMS_CODE_TTL_MS).toBe(5 * 60_000);
});

describe("SMS codes in memory, at the five-minute boundary", () => {
  it("verifies at 4:59 and refuses once 5:00 has passed", async () => {
    let now = Date.UTC(2026, 11, 1, 9);
    const store = new MemoryStore({ now: () => now });
    const service = createSmsCodes({
      store,
      sender: sms.sender(),
      logSecurityEvent: securityEventsLoggedTo(recordingSmsLogger()),
      dataKeys: DATA_KEYS,
      limits: { ...DEFAULT_LIMITS, phoneIntervalS: 1 },
    });
    const input = { purpose: "register" as const, subject: "t", ip: "203.0.113.7" };
    await service.send({ ...input, phone: "13800138000" });
    now += SMS_CODE_TTL_MS - 1000;
    await service.verify({ ...input, phone: "13800138000", code: sms.lastCode("+8613800138000")! });
    await service.send({ ...input, phone: "13900139000" });
    now += SMS_CODE_TTL_MS + 1; // Like Redis, the store keeps a value through its last millisecond.
    const code = sms.lastCode("+8613900139000")!;
    const error = await rejectionOf(service.verify({ ...input, phone: "13900139000", code }));
    expect(error.code).toBe("SMS_CODE_INVALID");
  });
});
