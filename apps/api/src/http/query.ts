import type { Request } from "express";

/** The request's query string as plain strings: the app's own query parser is off. */
export function queryOf(req: Request): Record<string, string> {
  return Object.fromEntries(new URL(req.originalUrl, "http://query.invalid").searchParams);
}
