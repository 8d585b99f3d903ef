/*
 * What the code memo's remembered outcomes cost the JS heap. A login code's outcome is kept for
 * 5 minutes (a resubmitted code gets the same answer), so at a steady 1000 logins/s one process
 * remembers some 300 000 of them, and every major garbage collection marks whatever of that is on
 * the JS heap.
 *
 * Each store runs in a process of its own with `--expose-gc`: 100 000 codes exchanged through a
 * CodeMemo (WeChat's answer stubbed, as the sandbox would give it), then the heap measured after a
 * full collection, and the time of a full collection with all of them remembered. "MemoryStore" is
 * what one API instance without Redis uses; "shared store" is a MemoryStore standing for Redis
 * (sealed entries), shown for reference: in production those entries live in Redis, not here.
 *
 * `pnpm --filter @wxauth/api exec tsx bench/code-memo-heap.ts`
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { CallBudget } from "../../../packages/wechat/src/budget.js";
import { CodeMemo } from "../../../packages/wechat/src/code-memo.js";
import { MemoryStore } from "../../../packages/wechat/src/memory-store.js";

const CODES = 100_000;
const FULL_COLLECTIONS = 5;
const STORES = ["empty", "MemoryStore", "shared store"] as const;
type StoreName = (typeof STORES)[number];

class SharedMemoryStore extends MemoryStore {
  override readonly processLocal = false;
}

interface Measured {
  heapBytes: number;
  offHeapBytes: number;
  fullGcMs: number;
  exchangeUs: number;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const collect = () => (globalThis as { gc?: () => void }).gc?.();

function fullGcMs(): number {
  const pauses: number[] = [];
  for (let i = 0; i < FULL_COLLECTIONS; i++) {
    const start = process.hrtime.bigint();
    collect();
    pauses.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return pauses.sort((a, b) => a - b)[Math.floor(pauses.length / 2)] ?? 0;
}

async function measure(name: StoreName): Promise<Measured> {
  const store = name === "shared store" ? new SharedMemoryStore() : new MemoryStore();
  const memo = new CodeMemo({ appid: "wxbench", store, ttlMs: 300_000, logger: silent });
  collect();
  const before = process.memoryUsage();
  const start = process.hrtime.bigint();
  if (name !== "empty") {
    for (let i = 0; i < CODES; i++) {
      const budget = new CallBudget("jscode2session", 5000);
      const session = {
        openid: `o${randomBytes(20).toString("base64url")}`,
        unionid: null,
        sessionKey: randomBytes(16).toString("base64"),
      };
      await memo.exchange(randomBytes(24).toString("base64url"), budget, async () => session);
      budget.dispose();
    }
  }
  const elapsedUs = Number(process.hrtime.bigint() - start) / 1e3;
  collect();
  const after = process.memoryUsage();
  const measured = {
    heapBytes: (after.heapUsed - before.heapUsed) / CODES,
    offHeapBytes: (after.external - before.external) / CODES,
    fullGcMs: fullGcMs(),
    exchangeUs: elapsedUs / CODES,
  };
  store.close();
  return measured;
}

const [childStore] = process.argv.slice(2) as [StoreName | undefined];
if (childStore) {
  process.stdout.write(JSON.stringify(await measure(childStore)));
} else {
  const self = fileURLToPath(import.meta.url);
  process.stdout.write(`${CODES} codes remembered per store, each store in its own process\n`);
  process.stdout.write(
    "| store | JS heap per code | off-heap per code | full GC | µs per exchange |\n",
  );
  for (const name of STORES) {
    const output = execFileSync(process.execPath, ["--import", "tsx", "--expose-gc", self, name], {
      encoding: "utf8",
    });
    const measured = JSON.parse(output) as Measured;
    const perCode = name === "empty" ? "-" : undefined;
    process.stdout.write(
      `| ${name} | ${perCode ?? `${Math.round(measured.heapBytes)} bytes`} | ${
        perCode ?? `${Math.round(measured.offHeapBytes)} bytes`
      } | ${measured.fullGcMs.toFixed(1)} ms | ${perCode ?? measured.exchangeUs.toFixed(2)} |\n`,
    );
  }
}
