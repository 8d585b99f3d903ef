/*
 * What a load generator's HTTP client costs the machine it shares with the API: the CPU this
 * process spends per request, sending GET /hello to a node:http server in another process
 * (bench/prototype-server.ts), through `node:http` with a keep-alive agent (what bench/paced.ts
 * used before) and through undici's Pool (what it uses now). Each client runs twice, alternating,
 * in one run; 8 requests in flight, 20 000 measured after 2 000 not counted.
 */
import { Agent, request as httpRequest } from "node:http";
import path from "node:path";
import { Pool } from "undici";
import { API_ROOT, BENCH_DIR } from "./processes.js";
import { answers200, freePort, startNodeProcess } from "../src/testing/node-process.js";

const REQUESTS = 20_000;
const WARM_UP = 2_000;
const IN_FLIGHT = 8;

type Client = { name: string; get(): Promise<void>; close(): Promise<void> | void };

function nodeHttpClient(url: URL): Client {
  const agent = new Agent({ keepAlive: true, maxSockets: 50 });
  return {
    name: "node:http, keep-alive agent",
    get: () =>
      new Promise<void>((resolve, reject) => {
        const outgoing = httpRequest(
          { agent, host: url.hostname, port: url.port, method: "GET", path: "/hello" },
          (response) => {
            response.resume();
            response.on("end", resolve);
            response.on("error", reject);
          },
        );
        outgoing.on("error", reject);
        outgoing.end();
      }),
    close: () => agent.destroy(),
  };
}

function undiciClient(url: URL): Client {
  const pool = new Pool(url.origin, { connections: 50 });
  return {
    name: "undici Pool",
    get: async () => {
      const response = await pool.request({ method: "GET", path: "/hello" });
      await response.body.dump();
    },
    close: () => pool.close(),
  };
}

/** CPU microseconds this process spent per request over `count` requests, `IN_FLIGHT` at a time. */
async function cpuPerRequest(client: Client, count: number): Promise<number> {
  const before = process.cpuUsage();
  let started = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (started++ < count) await client.get();
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / count;
}

const port = await freePort();
const url = new URL(`http://127.0.0.1:${port}`);
const server = await startNodeProcess(path.join(BENCH_DIR, "prototype-server.ts"), {
  name: "the node:http server",
  env: { PORT: String(port), SERVER: "node" },
  cwd: API_ROOT,
  nodeArgs: ["--import", "tsx"],
  ready: () => answers200(`${url.origin}/hello`),
});
try {
  const results = new Map<string, number[]>();
  for (let round = 0; round < 2; round++) {
    for (const make of [nodeHttpClient, undiciClient]) {
      const client = make(url);
      await cpuPerRequest(client, WARM_UP);
      const perRequest = await cpuPerRequest(client, REQUESTS);
      await client.close();
      results.set(client.name, [...(results.get(client.name) ?? []), perRequest]);
    }
  }
  process.stdout.write(`${REQUESTS} GET /hello, ${IN_FLIGHT} in flight, CPU of this process\n`);
  process.stdout.write("| client | µs of CPU per request (two runs) |\n");
  for (const [name, values] of results) {
    process.stdout.write(`| ${name} | ${values.map((value) => value.toFixed(1)).join(", ")} |\n`);
  }
} finally {
  await server.stop();
}
