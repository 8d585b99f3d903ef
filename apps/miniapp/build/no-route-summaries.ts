import type { Plugin } from "vite";

/** `summary: "…",` in the contract's built route table, the string's escapes included. */
const SUMMARY = /\bsummary:\s*"(?:[^"\\]|\\.)*",?/g;

/**
 * Each route of `@wxauth/contracts` carries a `summary`: a sentence for the OpenAPI document, which
 * the mini program never reads. Compiled out of its package (about 1.5 KB of its 150 KB budget).
 * The build fails if the contract's output stops having them where expected, so a change of the
 * contract's build is noticed here rather than by the budget test.
 */
export function noRouteSummaries(): Plugin {
  return {
    name: "wxauth:no-route-summaries",
    enforce: "pre",
    transform(code, id) {
      if (!/[\\/]contracts[\\/]dist[\\/]index\.js$/.test(id)) return null;
      const stripped = stripRouteSummaries(code);
      if (stripped === code) {
        this.error("@wxauth/contracts has no route summaries where expected: update this plugin");
      }
      return { code: stripped, map: null };
    },
  };
}

export function stripRouteSummaries(code: string): string {
  return code.replace(SUMMARY, "");
}
