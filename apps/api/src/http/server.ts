import { createServer, IncomingMessage, ServerResponse, type Server } from "node:http";
import type { Socket } from "node:net";
import type { Express } from "express";
import type { Logger } from "pino";
import { answerParserErrors } from "./parser-errors.js";

/**
 * The HTTP server for the app (main.ts and the tests listen on it), answering what Node's HTTP
 * parser refuses with the contract's error body.
 *
 * Its requests and responses are created with the app's own prototypes, `app.request` and
 * `app.response`, where `http.createServer(app)` would let Express move each one onto them with
 * Object.setPrototypeOf; V8 then keeps much of what a request allocates past two young-generation
 * collections. It stays for the goal GET /api/me >= 0.30 of Express hello (`pnpm bench`), which
 * `http.createServer(app)` misses. Measured again on 2026-12-07 with the account read with the
 * session and statements prepared (`BENCH_ONLY=me pnpm bench`, three runs each, quiet machine):
 * with this, 0.210-0.213 ms of CPU per request and 0.33-0.40 of hello; without, 0.317-0.327 ms and
 * 0.23-0.26. Express's own setPrototypeOf still runs, finds the prototype in place, and changes
 * nothing.
 */
export function createHttpServer(app: Express, logger: Logger): Server {
  // Constructor functions rather than classes: their `prototype` must be the app's object itself.
  function AppRequest(this: IncomingMessage, socket: Socket) {
    Reflect.apply(IncomingMessage, this, [socket]);
  }
  AppRequest.prototype = app.request;
  function AppResponse(this: ServerResponse, req: IncomingMessage, options?: object) {
    Reflect.apply(ServerResponse, this, [req, options]);
  }
  AppResponse.prototype = app.response;
  const server = createServer(
    {
      IncomingMessage: AppRequest as unknown as typeof IncomingMessage,
      ServerResponse: AppResponse as unknown as typeof ServerResponse,
    },
    app,
  );
  answerParserErrors(server, logger);
  return server;
}
