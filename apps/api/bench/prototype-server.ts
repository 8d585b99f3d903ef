/*
 * A server answering GET /hello with a constant JSON body, for bench/express-prototypes.ts. `SERVER`
 * picks how: `node` (node:http alone), `express` (Express's own app.listen), or
 * `express-born` (Express on src/http/server.ts, the way the API serves).
 */
import { createServer, type Server } from "node:http";
import express from "express";
import pino from "pino";
import { createHttpServer } from "../src/http/server.js";

const BODY = '{"hello":"world"}';
const mode = process.env.SERVER;

function serve(): Server {
  if (mode === "node") {
    return createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": BODY.length });
      res.end(BODY);
    });
  }
  const app = express();
  app.get("/hello", (_req, res) => {
    res.json({ hello: "world" });
  });
  if (mode === "express") return createServer(app);
  if (mode === "express-born") return createHttpServer(app, pino({ level: "silent" }));
  throw new Error(`unknown mode ${mode}`);
}

const server = serve().listen(Number(process.env.PORT), "127.0.0.1");
process.once("SIGTERM", () => server.close(() => process.exit(0)));
