import type { Response } from "express";

/**
 * Answers `body` as JSON with `status`. Every JSON answer of the API, success or error, goes out
 * through here. It writes what Express's res.json writes for this app (which sets no ETag and
 * serves no JSONP) without the layers underneath (res.send, the content-type and charset lookups,
 * the freshness check). Node itself leaves the body out of an answer to HEAD.
 */
export function sendJson(res: Response, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(json));
  res.end(json);
}
