/*
 * What one WeChat call's budget leaves in the old generation: an AbortController's signal (what
 * CallBudget was) against CallBudget as it is (an EventEmitter), beside a baseline without either.
 *
 * Each mode runs in a process of its own under `--trace-gc-nvp`: 60 000 iterations, each
 * allocating about what a login allocates (some 90 KB of short-lived objects, the last 20 kept
 * as if in flight) and making one budget the way a login's WeChat call does (a timer, an abort
 * listener added by the HTTP client and removed when the answer is in, the timer cleared). It
 * prints, per mode, the bytes promoted to the old generation per iteration and the mark-compacts.
 *
 * `pnpm --filter @wxauth/api exec tsx bench/abort-signals.ts`
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CallBudget } from "../../../packages/wechat/src/budget.js";
import { collectionsIn } from "./gc-trace.js";

const ITERATIONS = 60_000;
const IN_FLIGHT = 20;
const MODES = ["baseline", "AbortController", "CallBudget"] as const;
type Mode = (typeof MODES)[number];

const listener = () => {};

function budgetFor(mode: Mode): unknown {
  if (mode === "AbortController") {
    const controller = new AbortController();
    const { signal } = controller;
    const timer = setTimeout(() => controller.abort(), 5000);
    signal.addEventListener("abort", listener, { once: true });
    signal.removeEventListener("abort", listener);
    clearTimeout(timer);
    return controller;
  }
  if (mode === "CallBudget") {
    const budget = new CallBudget("jscode2session", 5000);
    budget.once("abort", listener);
    budget.off("abort", listener);
    budget.dispose();
    return budget;
  }
  return undefined;
}

function runChild(mode: Mode): Promise<void> {
  const inFlight: unknown[] = new Array(IN_FLIGHT);
  return new Promise((resolve) => {
    let i = 0;
    const iterate = () => {
      const garbage: object[] = [];
      for (let k = 0; k < 600; k++) garbage.push({ k, name: `x${k}`, pair: [k, k + 1] });
      inFlight[i % IN_FLIGHT] = { garbage, budget: budgetFor(mode) };
      if (++i < ITERATIONS) setImmediate(iterate);
      else resolve();
    };
    iterate();
  });
}

const [childMode] = process.argv.slice(2) as [Mode | undefined];
if (childMode) {
  await runChild(childMode);
} else {
  const self = fileURLToPath(import.meta.url);
  process.stdout.write(`${ITERATIONS} iterations per mode, each in its own process\n`);
  process.stdout.write("| budget | promoted per iteration | mark-compacts |\n");
  for (const mode of MODES) {
    const output = execFileSync(
      process.execPath,
      ["--import", "tsx", "--trace-gc-nvp", self, mode],
      { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
    );
    const collections = collectionsIn(output);
    const promoted = collections.reduce((sum, collection) => sum + collection.promoted, 0);
    const markCompacts = collections.filter((collection) => collection.kind === "mc").length;
    process.stdout.write(
      `| ${mode} | ${Math.round(promoted / ITERATIONS)} bytes | ${markCompacts} |\n`,
    );
  }
}
