/**
 * A failed statement, told apart the same way on SQLite and PostgreSQL:
 * - `unique-violation`: a unique constraint refused a write; re-read and decide again;
 * - `foreign-key-violation`: a write named a row that is not there (deleted meanwhile);
 * - `unavailable`: the database cannot answer now (down, locked, unreachable, refusing this
 *   instance); answer 503, retryable;
 * - `failed`: anything else, a bug in a statement.
 */
export class DatabaseError extends Error {
  override name = "DatabaseError";
  /** The driver's code: SQLITE_BUSY, 23505, ECONNREFUSED, ... */
  readonly code: string | undefined;

  constructor(
    readonly kind: "unique-violation" | "foreign-key-violation" | "unavailable" | "failed",
    cause: unknown,
  ) {
    const { code, message } = (cause ?? {}) as { code?: unknown; message?: unknown };
    super(typeof message === "string" ? message : String(cause), { cause });
    this.code = typeof code === "string" ? code : undefined;
  }
}

const UNIQUE_VIOLATIONS = new Set([
  "SQLITE_CONSTRAINT_UNIQUE",
  "SQLITE_CONSTRAINT_PRIMARYKEY",
  "23505",
]);
const FOREIGN_KEY_VIOLATIONS = new Set(["SQLITE_CONSTRAINT_FOREIGNKEY", "23503"]);
/** SQLite's codes for a database that cannot serve now: locked, unopenable, failing I/O. */
const SQLITE_UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY|CORRUPT|NOTADB)/;
/**
 * PostgreSQL's classes for the same (SQLSTATE): 08 connection, 28 authentication (a rotated
 * password), 3D no such database, 40 serialization failure or deadlock, 53 insufficient
 * resources, 57 operator intervention (shutdown), 58 system error. Only an operator fixes some of
 * these, but they are still the database unavailable to this instance: readiness must fail so
 * traffic goes elsewhere, and every request gets a 503, not a 500.
 */
const POSTGRES_UNAVAILABLE = /^(08|28|3D|40|53|57|58)/;

/**
 * What the drivers threw, classified. What is neither SQLite's answer nor PostgreSQL's (a
 * connection refused or dropped, a statement timed out) is the connection failing.
 */
export function databaseErrorFrom(error: unknown): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  if (typeof code === "string" && UNIQUE_VIOLATIONS.has(code)) {
    return new DatabaseError("unique-violation", error);
  }
  if (typeof code === "string" && FOREIGN_KEY_VIOLATIONS.has(code)) {
    return new DatabaseError("foreign-key-violation", error);
  }
  const unavailable =
    typeof code === "string" && code.startsWith("SQLITE_")
      ? SQLITE_UNAVAILABLE.test(code)
      : // PostgreSQL's own answers carry a severity and a SQLSTATE.
        severity === undefined || typeof code !== "string" || POSTGRES_UNAVAILABLE.test(code);
  return new DatabaseError(unavailable ? "unavailable" : "failed", error);
}

/** Another process holds SQLite's lock: worth waiting a little and trying again. */
export function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^SQLITE_(BUSY|LOCKED)/.test(code);
}

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof DatabaseError && error.kind === "unique-violation";
}

export function isForeignKeyViolation(error: unknown): boolean {
  return error instanceof DatabaseError && error.kind === "foreign-key-violation";
}

export function isDatabaseUnavailable(error: unknown): boolean {
  return error instanceof DatabaseError && error.kind === "unavailable";
}
