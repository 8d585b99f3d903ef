/*
 * V8's `--trace-gc-nvp` lines, read back: one line per collection, `name=value` fields. The
 * scripts that measure what reaches the old generation (express-prototypes.ts,
 * abort-signals.ts) run their subject with that flag and read its output here.
 */

export interface Collection {
  /** "s" for a scavenge (young generation), "mc" for a mark-compact (the whole heap). */
  kind: string;
  pauseMs: number;
  /** Bytes allocated since the collection before (scavenges). */
  allocated: number;
  /** Bytes moved to the old generation by this collection (scavenges). */
  promoted: number;
}

export function collectionsIn(output: string): Collection[] {
  return output
    .split("\n")
    .filter((line) => line.includes(" gc="))
    .map((line) => {
      const fields = Object.fromEntries(
        line
          .split(/\s+/)
          .filter((field) => field.includes("="))
          .map((field) => field.split("=")),
      );
      return {
        kind: String(fields.gc),
        pauseMs: Number(fields.pause),
        allocated: Number(fields.allocated ?? 0),
        promoted: Number(fields.promoted ?? 0),
      };
    });
}
