import { createServer, IncomingMessage, ServerResponse, type Server } from "node:http";
import type { Socket } from "node:net";
import type { Express } from "express";
import type { Logger } from "pino";
import { answerParserErrors } from "./client-error.js";

/**
 * The HTTP server for the app (main.ts and the tests listen on it), answering malformed requests
 * with the contract's error body (http/client-error.ts).
 *
 * Its requests and responses are created with the app's own prototypes, `app.request` and
 * `app.response`. Otherwise Express moves every request and response onto them with
 * Object.setPrototypeOf, and V8 then keeps about a quarter of what a request allocates past two
 * young-generation collections: with Express answering a constant body at 1100 requests/s, each
 * scavenge promoted 1.9-2.2 MB and paused 2.6-3 ms, against 2 KB and 0.26 ms with the objects born
 * with their prototypes (`pnpm --filter @wxauth/api exec tsx bench/express-prototypes.ts`). Those
 * pauses, and the queue behind each, were most of a login's p99 (docs/benchmarks.md). Express's
 * own setPrototypeOf still runs, finds the prototype in place, and changes nothing.
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
