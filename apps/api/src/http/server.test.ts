import { IncomingMessage, ServerResponse, request } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpServer } from "./server.js";

const app = express();
app.get("/hello", (_req, res) => {
  res.json({ hello: "world" });
});
const server = createHttpServer(app, pino({ level: "silent" }));
const seen: Array<{ request: object | null; response: object | null }> = [];
// Runs before the app: what the server made, before Express could touch it.
server.prependListener("request", (req, res) => {
  seen.push({ request: Object.getPrototypeOf(req), response: Object.getPrototypeOf(res) });
});

let url: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(`${url}${path}`, (response) => {
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}

describe("createHttpServer", () => {
  it("makes each request and response with the app's own prototypes, so Express moves neither", async () => {
    const answer = await get("/hello");
    expect(answer).toEqual({ status: 200, body: '{"hello":"world"}' });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.request).toBe(app.request);
    expect(seen[0]?.response).toBe(app.response);
  });

  it("keeps them Node's own: streams, instanceof and all", async () => {
    const kinds: boolean[] = [];
    server.prependOnceListener("request", (req, res) => {
      kinds.push(req instanceof IncomingMessage, res instanceof ServerResponse);
    });
    expect((await get("/nowhere")).status).toBe(404);
    expect(kinds).toEqual([true, true]);
  });

  it("answers a malformed request with the contract's error body", async () => {
    const { connect } = await import("node:net");
    const { port } = server.address() as AddressInfo;
    const reply = await new Promise<string>((resolve, reject) => {
      let text = "";
      const socket = connect(port, "127.0.0.1", () => socket.write("NOT HTTP\r\n\r\n"));
      socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
      socket.on("end", () => resolve(text)).on("error", reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect(reply).toContain('"code":"VALIDATION_FAILED"');
  });
});
