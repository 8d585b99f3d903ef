import type { IncomingMessage, ServerResponse } from "node:http";
import { MAX_BODY_BYTES } from "./constants.js";

export const JSON_TYPE = "application/json; encoding=utf-8";
/** jscode2session really answers JSON text labelled text/plain; clients must cope with it. */
export const TEXT_TYPE = "text/plain";

export class BodyTooLargeError extends Error {
  constructor() {
    super(`body larger than ${MAX_BODY_BYTES} bytes`);
  }
}

/** Reads the whole body as UTF-8 (see readBodyBytes). */
export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readBodyBytes(req)).toString("utf8");
}

/**
 * Reads the whole body as sent; Tencent's signature covers these exact bytes. An oversized body is
 * drained rather than cut off, so the caller can still answer on a healthy connection.
 */
export function readBodyBytes(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY_BYTES) reject(new BodyTooLargeError());
      else resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

/** Parses a JSON body; undefined when it is not JSON. An empty body counts as `{}`. */
export function parseJson(text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  // The client may have hung up while a fault delayed us.
  if (res.writableEnded || res.destroyed || res.socket === null || res.socket.destroyed) return;
  res.writeHead(status, {
    ...headers,
    "Content-Type": contentType,
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}
