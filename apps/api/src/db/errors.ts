/**
 * A failed statement, told apart by PostgreSQL's SQLSTATE or the connection's failure:
 * - `unique-violation`: a unique constraint refused a write; re-read and decide again;
 * - `foreign-key-violation`: a write named a row that is not there (deleted meanwhile);
 * - `unavailable`: the database cannot answer now (down, locked, unreachable, refusing this
 *   instance); answer 503, retryable;
 * - `failed`: anything else, a bug in a statement.
 */
export class DatabaseError extends Error {
  override name = "DatabaseError";
  /** The driver's code: 23505, 57P01, ECONNREFUSED, ... */
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

const UNIQUE_VIOLATION = "23505";
const FOREIGN_KEY_VIOLATION = "23503";
/**
 * PostgreSQL's classes (SQLSTATE) of a database that cannot serve now: 08 connection, 28 authentication (a rotated
 * password), 3D no such database, 40 serialization failure or deadlock, 53 insufficient
 * resources, 57 operator intervention (shutdown), 58 system error. Only an operator fixes some of
 * these, but they are still the database unavailable to this instance: readiness must fail so
 * traffic goes elsewhere, and every request gets a 503, not a 500.
 */
const POSTGRES_UNAVAILABLE = /^(08|28|3D|40|53|57|58)/;
/**
 * A prepared statement the connection believes in is not on the server (26000), or one it
 * prepares is there already (42P05): a pooler that moves statements between server connections
 * (PgBouncer in transaction mode without max_prepared_statements), or a reset of the session. The
 * connection goes (a fresh one starts with none), and the request gets a 503, not a 500.
 */
const PREPARED_STATEMENTS_LOST = new Set(["26000", "42P05"]);

/**
 * What node-postgres threw, classified. What is not PostgreSQL's answer (a connection refused or
 * dropped, a statement timed out) is the connection failing.
 */
export function databaseErrorFrom(error: unknown): DatabaseError {
  if (error instanceof DatabaseError) return error;
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  if (code === UNIQUE_VIOLATION) return new DatabaseError("unique-violation", error);
  if (code === FOREIGN_KEY_VIOLATION) return new DatabaseError("foreign-key-violation", error);
  // PostgreSQL's own answers carry a severity and a SQLSTATE.
  const unavailable =
    severity === undefined ||
    typeof code !== "string" ||
    POSTGRES_UNAVAILABLE.test(code) ||
    PREPARED_STATEMENTS_LOST.has(code);
  return new DatabaseError(unavailable ? "unavailable" : "failed", error);
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
