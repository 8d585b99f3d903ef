/*
 * What Express's Object.setPrototypeOf on every request and response costs in garbage collection,
 * and what src/http/server.ts saves by making them with the app's prototypes from the start.
 *
 * Three servers answer GET /hello with a constant body (bench/prototype-server.ts): node:http
 * alone, Express as app.listen serves it, and Express on the API's createHttpServer. Each gets the
 * same Poisson arrivals (bench/paced.ts; 1100/s unless BENCH_RATE says otherwise) while V8 reports
 * every young-generation collection (--trace-gc-nvp). It prints, per server, the latency and, per
 * scavenge, the pause, the bytes allocated since the one before and the bytes promoted to the old
 * generation.
 */
import path from "node:path";
import { collectionsIn } from "./gc-trace.js";
import { measurePaced } from "./paced.js";
import { API_ROOT, BENCH_DIR } from "./processes.js";
import { answers200, freePort, startNodeProcess } from "../src/testing/node-process.js";

const RATE = Number(process.env.BENCH_RATE ?? 1100);
/** Scavenges of the start-up and the first warm-up second, before the young generation grows. */
const SKIPPED_SCAVENGES = 10;

/** The scavenges of a server's run, less those of its start-up. */
const scavengesIn = (output: string) =>
  collectionsIn(output)
    .filter((collection) => collection.kind === "s")
    .slice(SKIPPED_SCAVENGES);

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
const kib = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;

async function measure(mode: string) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startNodeProcess(path.join(BENCH_DIR, "prototype-server.ts"), {
    name: `the ${mode} server`,
    env: { PORT: String(port), SERVER: mode },
    cwd: API_ROOT,
    nodeArgs: ["--import", "tsx", "--trace-gc-nvp"],
    ready: () => answers200(`${url}/hello`),
  });
  try {
    const figures = await measurePaced(
      url,
      { method: "GET", path: "/hello" },
      RATE,
      server.child.pid ?? 0,
    );
    const scavenges = scavengesIn(server.output());
    const promoted = mean(scavenges.map((s) => s.promoted));
    const allocated = mean(scavenges.map((s) => s.allocated));
    return [
      mode,
      String(figures.p50Ms),
      String(figures.p99Ms),
      String(scavenges.length),
      mean(scavenges.map((s) => s.pauseMs)).toFixed(2),
      Math.max(0, ...scavenges.map((s) => s.pauseMs)).toFixed(2),
      kib(allocated),
      kib(promoted),
      `${((100 * promoted) / Math.max(1, allocated)).toFixed(1)}%`,
    ];
  } finally {
    await server.stop();
  }
}

const header = [
  "server",
  "p50 ms",
  "p99 ms",
  "scavenges",
  "pause ms (mean)",
  "pause ms (max)",
  "allocated / scavenge",
  "promoted / scavenge",
  "promoted share",
];
const rows = [header];
for (const mode of ["node", "express", "express-born"]) rows.push(await measure(mode));
process.stdout.write(`GET /hello at ${RATE}/s, Poisson arrivals, each server alone\n`);
for (const row of rows) process.stdout.write(`| ${row.join(" | ")} |\n`);
