/*
 * Sends a request exactly as given: the path is not normalised (the harness resolves it as a URL,
 * so "//x" would become another host), and a body is framed with Content-Length unless the
 * headers ask for chunked encoding. Without framing, Node's client writes a GET's body as bare
 * bytes after the head, which a server can only read as a broken second request.
 */
import http from "node:http";
import type { HttpResult } from "../test/harness.js";

export interface FuzzRequest {
  method: string;
  path: string;
  headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  body?: string | Buffer;
}

export function sendRaw(baseUrl: string, request: FuzzRequest): Promise<HttpResult> {
  const { hostname, port } = new URL(baseUrl);
  const headers: http.OutgoingHttpHeaders = Object.fromEntries(
    Object.entries(request.headers ?? {}).flatMap(([name, value]) =>
      value === undefined ? [] : [[name, typeof value === "string" ? value : [...value]]],
    ),
  );
  const chunked = Object.keys(headers).some((name) => name.toLowerCase() === "transfer-encoding");
  if (request.body !== undefined && !chunked) {
    headers["content-length"] = String(Buffer.byteLength(request.body));
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        hostname,
        port,
        path: request.path,
        method: request.method ?? "GET",
        headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (request.body !== undefined) req.write(request.body);
    req.end();
  });
}
