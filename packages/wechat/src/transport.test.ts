import type { ServerResponse } from "node:http";
import { setImmediate as nextTurn } from "node:timers/promises";
import { Agent, type Dispatcher, buildConnector } from "undici";
import { describe, expect, it } from "vitest";
import type { FakeWechat } from "./testing/fake-wechat.js";
import { type FakeHandler, PATHS, send, sequence } from "./testing/fake-wechat.js";
import { clientOf, failureOf, freshCode, timeoutOf, useFakeWechat } from "./testing/helpers.js";
import { MAX_REPLY_BYTES } from "./transport.js";

let fake: FakeWechat;
useFakeWechat((started) => (fake = started));

const plainText = (response: ServerResponse, text: string) =>
  send(response, text, { contentType: "text/plain" });

/** jscode2session answering openid `o1`, noting which connection each request came on. */
function code2SessionOnSockets(sockets: Set<unknown>): FakeHandler {
  return (_request, response) => {
    sockets.add(response.socket);
    plainText(response, JSON.stringify({ openid: "o1", session_key: "k1" }));
  };
}

/** Sends the head and the first bytes of a reply, then leaves the connection open and silent. */
const stallMidBody: FakeHandler = (_request, response) => {
  response.writeHead(200, { "content-type": "text/plain", "content-length": "200" });
  response.write('{"openid":"o1",');
};

describe("the HTTP exchange", () => {
  it("sends calls a loop turn apart over one kept-alive connection", async () => {
    const sockets = new Set<unknown>();
    fake.on(PATHS.jscode2session, code2SessionOnSockets(sockets));
    const { client } = clientOf(fake);
    for (let i = 0; i < 5; i++) {
      await client.code2Session(freshCode());
      await nextTurn();
    }
    expect(fake.count(PATHS.jscode2session)).toBe(5);
    expect(sockets.size).toBe(1);
    client.close();
  });

  it("sends back-to-back calls over two kept-alive connections, in turn", async () => {
    // undici reuses a connection one event-loop turn after its answer ended (in case the server
    // closes it after all): a call sent in the same turn takes a second connection, and from then
    // on the two take turns.
    const sockets = new Set<unknown>();
    fake.on(PATHS.jscode2session, code2SessionOnSockets(sockets));
    const { client } = clientOf(fake);
    for (let i = 0; i < 6; i++) await client.code2Session(freshCode());
    expect(fake.count(PATHS.jscode2session)).toBe(6);
    expect(sockets.size).toBe(2);
    client.close();
  });

  it("close() ends the client's own connections; a later call opens a new one", async () => {
    const sockets = new Set<unknown>();
    fake.on(PATHS.jscode2session, code2SessionOnSockets(sockets));
    const { client } = clientOf(fake);
    await client.code2Session(freshCode());
    client.close();
    await client.code2Session(freshCode());
    expect(sockets.size).toBe(2);
    client.close();
  });

  it("ends the call with a timeout within the budget when the body stalls, and drops that connection", async () => {
    const sockets = new Set<unknown>();
    fake.on(PATHS.jscode2session, sequence([stallMidBody], code2SessionOnSockets(sockets)));
    const { client } = clientOf(fake, { timeoutMs: 300, retries: 5 });
    await timeoutOf(client.code2Session(freshCode()), 300);
    expect(fake.count(PATHS.jscode2session)).toBe(1);

    // The half-read connection was destroyed, not pooled: the next call gets a clean one.
    expect((await client.code2Session(freshCode())).openid).toBe("o1");
    expect(sockets.size).toBe(1);
    client.close();
  });

  it.each([
    [
      "a body cut short (Content-Length larger than what arrives)",
      ((_request, response) => {
        response.writeHead(200, { "content-type": "text/plain", "content-length": "200" });
        response.write('{"openid":"o1","session_ke', () => response.socket?.destroy());
      }) satisfies FakeHandler,
    ],
    [
      "a connection reset before any reply",
      ((_request, response) => {
        response.socket?.destroy();
      }) satisfies FakeHandler,
    ],
  ])("retries %s as a transient network failure", async (_name, failure) => {
    fake.on(
      PATHS.jscode2session,
      sequence([failure], (_request, response) =>
        plainText(response, JSON.stringify({ openid: "o2", session_key: "k2" })),
      ),
    );
    const { client } = clientOf(fake, { retries: 2 });
    expect((await client.code2Session(freshCode())).openid).toBe("o2");
    expect(fake.count(PATHS.jscode2session)).toBe(2);

    fake.on(PATHS.jscode2session, failure);
    const error = await failureOf(client.code2Session(freshCode()));
    expect(error).toMatchObject({ kind: "network", errcode: -1, retryable: true });
    expect(error.errmsg).toBe("network error: ECONNRESET");
    expect(fake.count(PATHS.jscode2session)).toBe(2 + 3);
    client.close();
  });

  it.each([
    [
      "declared by Content-Length",
      ((_request, response) =>
        plainText(response, " ".repeat(MAX_REPLY_BYTES + 1))) satisfies FakeHandler,
    ],
    [
      "streamed without a length",
      ((_request, response) => {
        response.writeHead(200, { "content-type": "text/plain" });
        const chunk = " ".repeat(64 * 1024);
        // Twice the cap, unless the client hangs up first (then the writes go nowhere).
        for (let i = 0; i < 32 && !response.destroyed; i++) response.write(chunk);
        response.end();
      }) satisfies FakeHandler,
    ],
  ])("refuses a reply over the size cap, %s, as a transient parse failure", async (_name, huge) => {
    fake.on(PATHS.jscode2session, huge);
    const { client } = clientOf(fake, { retries: 2 });
    const error = await failureOf(client.code2Session(freshCode()));
    expect(error).toMatchObject({ kind: "parse", errcode: -1, retryable: true });
    expect(error.errmsg).toContain(`over ${MAX_REPLY_BYTES} bytes`);
    expect(fake.count(PATHS.jscode2session)).toBe(3);
    client.close();
  });

  it("reads a reply of exactly the size cap", async () => {
    const json = JSON.stringify({ openid: "o3", session_key: "k3" });
    fake.on(PATHS.jscode2session, (_request, response) =>
      plainText(response, json + " ".repeat(MAX_REPLY_BYTES - json.length)),
    );
    const { client } = clientOf(fake);
    expect((await client.code2Session(freshCode())).openid).toBe("o3");
    client.close();
  });

  it("decodes UTF-8 split across chunks", async () => {
    const bytes = Buffer.from(JSON.stringify({ errcode: 40029, errmsg: "无效的 code, rid: 1" }));
    const cut = bytes.indexOf(Buffer.from("效")) + 1; // inside the character's three bytes
    fake.on(PATHS.jscode2session, async (_request, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.write(bytes.subarray(0, cut));
      await new Promise((resolve) => setTimeout(resolve, 20));
      response.end(bytes.subarray(cut));
    });
    const { client } = clientOf(fake);
    const error = await failureOf(client.code2Session(freshCode()));
    expect(error).toMatchObject({ kind: "wechat", errcode: 40029 });
    expect(error.errmsg).toContain("无效的 code");
    client.close();
  });
});

/** A keep-alive undici Agent counting its calls and the connections it opens: a proxy's stand-in. */
function countingDispatcher() {
  const counts = { calls: 0, connections: 0 };
  const connect = buildConnector({});
  class CountingAgent extends Agent {
    override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
      counts.calls++;
      return super.dispatch(options, handler);
    }
  }
  const dispatcher = new CountingAgent({
    connect: (options, callback) => {
      counts.connections++;
      connect(options, callback);
    },
  });
  return { dispatcher, counts };
}

describe("a caller-supplied dispatcher", () => {
  it("carries every call, and the client's close() leaves its connections alone", async () => {
    const { dispatcher, counts } = countingDispatcher();
    try {
      const { client } = clientOf(fake, { dispatcher });
      await client.code2Session(freshCode());
      await client.getPhoneNumber("phone-code", "openid-1"); // the token, then the number
      expect(counts.calls).toBe(3);
      expect(fake.count(PATHS.stableToken)).toBe(1);
      expect(fake.count(PATHS.phone)).toBe(1);
      const opened = counts.connections;
      expect(opened).toBeGreaterThan(0);

      client.close();
      await nextTurn();
      const { client: second } = clientOf(fake, { dispatcher });
      await second.code2Session(freshCode());
      expect(counts.calls).toBe(4);
      // On a connection opened before: close() did not destroy the caller's dispatcher's.
      expect(counts.connections).toBe(opened);
    } finally {
      await dispatcher.close();
    }
  });
});
