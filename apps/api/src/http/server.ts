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
 * scavenge promoted about 2.5 MB and paused about 3.4 ms, against about 0.1 MB and 0.8 ms with the
 * objects born with their prototypes (`pnpm --filter @wxauth/api exec tsx
 * bench/express-prototypes.ts`). In the API it took a login from 0.60 to 0.52 ms of CPU and
 * `/api/me` from 0.23 to 0.15 ms (docs/benchmarks.md, fix 18). Express's own setPrototypeOf still
 * runs, finds the prototype in place, and changes nothing.
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
