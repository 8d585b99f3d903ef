/**
 * Recognises database failures by their codes rather than by class, so the same checks hold for
 * the SQLite and the PostgreSQL clients (each generated client has its own error classes).
 */

interface PrismaLikeError {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

function asError(error: unknown): PrismaLikeError | undefined {
  return typeof error === "object" && error !== null ? (error as PrismaLikeError) : undefined;
}

/** A unique constraint refused a write (P2002): re-read and decide again. */
export function isUniqueViolation(error: unknown): boolean {
  return asError(error)?.code === "P2002";
}

/** The row an `update` targeted did not match its filter (P2025). */
export function isRecordNotFound(error: unknown): boolean {
  return asError(error)?.code === "P2025";
}

// P1001 unreachable, P1002 timed out, P1008 operation timed out (SQLITE_BUSY maps here),
// P1017 connection closed, P2024 pool timeout, P2028 transaction API error (e.g. timed out),
// P2034 write conflict or deadlock. Also the database refusing this instance: P1000 wrong
// credentials (a rotated password), P1003 no such database, P1010 access denied, P1011 TLS. Only
// an operator can fix those, but they are still the database being unavailable to this instance:
// readiness must fail so traffic goes elsewhere, and every request gets a 503, not a 500.
const UNAVAILABLE_CODES = new Set([
  "P1000",
  "P1001",
  "P1002",
  "P1003",
  "P1008",
  "P1010",
  "P1011",
  "P1017",
  "P2024",
  "P2028",
  "P2034",
]);
const UNAVAILABLE_DRIVER_KINDS = new Set([
  "SocketTimeout",
  "DatabaseNotReachable",
  "ConnectionClosed",
  "TooManyConnections",
  "TransactionAlreadyClosed",
  "AuthenticationFailed",
  "DatabaseAccessDenied",
  "DatabaseDoesNotExist",
  "TlsConnectionError",
]);
const UNAVAILABLE_SYSTEM_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_CANTOPEN",
  "SQLITE_IOERR",
  "57P01", // PostgreSQL admin shutdown
  "57P03", // PostgreSQL cannot connect now
  "53300", // PostgreSQL too many connections
  "28P01", // PostgreSQL password authentication failed
  "28000", // PostgreSQL no pg_hba.conf entry / access denied
  "3D000", // PostgreSQL database does not exist
]);

/** Prisma's own error classes: a known code, or a bug in the query (never a connection problem). */
const CLASSIFIED_PRISMA_ERRORS = new Set([
  "PrismaClientKnownRequestError",
  "PrismaClientUnknownRequestError",
  "PrismaClientValidationError",
  "PrismaClientRustPanicError",
]);

/** The database cannot answer now (down, locked, overloaded): answer 503, retryable. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = asError(error), depth = 0; current && depth < 5; depth++) {
    if (current.name === "PrismaClientInitializationError") return true;
    // The driver adapter failed to connect (e.g. the SQLite file cannot be opened): Prisma passes
    // the driver's own error on, tagged with its clientVersion, instead of a classified error.
    if ("clientVersion" in current && !CLASSIFIED_PRISMA_ERRORS.has(String(current.name)))
      return true;
    if (typeof current.code === "string") {
      if (UNAVAILABLE_CODES.has(current.code) || UNAVAILABLE_SYSTEM_CODES.has(current.code)) {
        return true;
      }
    }
    const kind = (current as { kind?: unknown }).kind;
    if (typeof kind === "string" && UNAVAILABLE_DRIVER_KINDS.has(kind)) return true;
    if (
      typeof current.message === "string" &&
      /database is locked|SQLITE_BUSY/.test(current.message)
    ) {
      return true;
    }
    current = asError(current.cause);
  }
  return false;
}
