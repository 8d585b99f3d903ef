import express, { type RequestHandler } from "express";

/** Bodies are tiny JSON objects (codes, tokens, a nickname); anything bigger is refused early. */
const BODY_LIMIT = "16kb";

/**
 * A lone surrogate: what String.prototype.isWellFormed (ES2024, past this project's lib) refuses.
 * `"\ud800"` is valid JSON, but such a string has no UTF-8 form: it cannot go into a URL
 * (encodeURIComponent throws) or a database column, so it must be refused before any of that.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** A JSON body holding a string (a value or a key) that is not well-formed UTF-16. */
export class IllFormedStringError extends SyntaxError {
  constructor() {
    super("A string in the body is not well-formed UTF-16 (it holds a lone surrogate).");
  }
}

function refuseIllFormedStrings(key: string, value: unknown): unknown {
  if ((typeof value === "string" && LONE_SURROGATE.test(value)) || LONE_SURROGATE.test(key)) {
    // body-parser answers a throwing reviver like any parse failure: a 400 with this error.
    throw new IllFormedStringError();
  }
  return value;
}

/** Parses JSON bodies; a body whose strings cannot all be encoded as UTF-8 is bad input. */
export function jsonBody(): RequestHandler {
  return express.json({
    limit: BODY_LIMIT,
    type: ["application/json", "application/*+json"],
    reviver: refuseIllFormedStrings,
  });
}
