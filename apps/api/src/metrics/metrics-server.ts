import { once } from "node:events";
import http from "node:http";
import type { Registry } from "prom-client";

/**
 * `GET /metrics` in Prometheus's text format, on a port of its own: the public API port never
 * serves it, so what the metrics tell (traffic, WeChat errors, costs) stays inside the network
 * that can reach this port. Anything else is 404.
 */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  host: string,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== "/metrics" || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("Not found\n");
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "Content-Type": registry.contentType }).end(text),
      (error: unknown) => {
        res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" });
        res.end(`metrics collection failed: ${String(error)}\n`);
      },
    );
  });
  server.listen(port, host);
  await once(server, "listening");
  return server;
}
