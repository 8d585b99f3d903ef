import { createHash, timingSafeEqual } from "node:crypto";
import {
  OPERATOR_SESSION_IDLE_TIMEOUT_S,
  OPERATOR_SESSION_MAX_AGE_S,
  type OperatorRole,
  type OperatorSession,
} from "@wxauth/contracts/admin";
import type { SharedStore } from "@wxauth/wechat";
import { ipKeyGenerator } from "express-rate-limit";
import { hashOpaqueToken, newOpaqueToken } from "../auth/opaque-tokens.js";
import type { Clock } from "../clock.js";
import type { DataAccess } from "../db/data-access.js";
import { isUniqueViolation } from "../db/errors.js";
import { AppError } from "../errors.js";
import type { LiveSessionCutoffs, OperatorSessionRecord } from "./operators.repository.js";
import {
  DEFAULT_SCRYPT_COST,
  hashPassword,
  newOperatorPassword,
  verifyPassword,
  type ScryptCost,
} from "./passwords.js";

/**
 * Sign-in attempts, counted in the shared store (so across instances) in a fixed 15-minute
 * window: per name, so one account cannot be guessed at from many addresses, and per address
 * (IPv6 per /56), so one client cannot try many names. Every attempt counts, right or wrong.
 */
export interface SignInLimits {
  perName: number;
  perAddress: number;
  windowMs: number;
}
export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = {
  perName: 10,
  perAddress: 30,
  windowMs: 15 * 60_000,
};

export interface OperatorsDeps {
  data: DataAccess;
  store: SharedStore;
  clock: Clock;
  scryptCost?: ScryptCost;
  signInLimits?: SignInLimits;
}

/** A request's operator: a live session, touched by this request. */
export type SignedInOperator = OperatorSessionRecord & {
  /** The cookie's token, from which the CSRF token is derived. */
  token: string;
};

/**
 * The CSRF token of a session: derived from the session's secret token, so it needs no storage
 * and no instance has to remember it; it reveals nothing of the token (SHA-256).
 */
export function csrfTokenOf(sessionToken: string): string {
  return createHash("sha256").update(`csrf\0${sessionToken}`).digest("base64url");
}

/** Whether the header carries the session's CSRF token, compared in constant time. */
export function csrfTokenMatches(sessionToken: string, header: string | undefined): boolean {
  if (!header) return false;
  const expected = Buffer.from(csrfTokenOf(sessionToken));
  const actual = Buffer.from(header);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * How many password hashes or checks (scrypt: about 1 s and 128 MiB each at the production cost)
 * one instance runs at once. Each holds one of libuv's 4 threads, which DNS lookups (WeChat's
 * address among them) share: sign-ins from many addresses, each within its own limit, must not
 * take them all.
 */
export const MAX_CONCURRENT_PASSWORD_HASHES = 2;
/** How many wait for one of those; past them, 429 at once. */
export const MAX_WAITING_PASSWORD_HASHES = 8;

/**
 * A session is live while it was seen within OPERATOR_SESSION_IDLE_TIMEOUT_S and signed in within
 * OPERATOR_SESSION_MAX_AGE_S of `now`; housekeeping deletes the others.
 */
export function liveSessionCutoffs(now: number): LiveSessionCutoffs {
  return {
    seenAfter: new Date(now - OPERATOR_SESSION_IDLE_TIMEOUT_S * 1000),
    signedInAfter: new Date(now - OPERATOR_SESSION_MAX_AGE_S * 1000),
  };
}

/**
 * Operators and their cookie sessions: sign-in (rate-limited, telling nothing about which names
 * exist), the 30-minute idle timeout checked and extended on every request (and the 12-hour
 * limit from sign-in), sign-out, and the
 * password change (the one-time password's first of all). Sessions live in the database only,
 * stored as hashes, so every instance sees the same ones.
 */
export function createOperators(deps: OperatorsDeps) {
  const { data, store, clock } = deps;
  const cost = deps.scryptCost ?? DEFAULT_SCRYPT_COST;
  const limits = deps.signInLimits ?? DEFAULT_SIGN_IN_LIMITS;
  // Verified against when the name is unknown, so that answer takes as long as a wrong password.
  // Made at start: made at the first sign-in, that one answer would take twice as long.
  const dummyHash = hashPassword(newOperatorPassword(), cost);
  dummyHash.catch(() => {});
  let hashesRunning = 0;
  const hashesWaiting: Array<() => void> = [];

  /**
   * Runs `work` (a password hash or check) once fewer than MAX_CONCURRENT_PASSWORD_HASHES run;
   * with MAX_WAITING_PASSWORD_HASHES already waiting, 429 at once, to try again in a second.
   */
  async function hashing<T>(work: () => Promise<T>): Promise<T> {
    if (hashesRunning < MAX_CONCURRENT_PASSWORD_HASHES) {
      hashesRunning++;
    } else if (hashesWaiting.length < MAX_WAITING_PASSWORD_HASHES) {
      // The slot is handed over by the hash that ends (below).
      await new Promise<void>((resolve) => hashesWaiting.push(resolve));
    } else {
      throw new AppError(
        "RATE_LIMITED",
        "Too many sign-ins are being checked at once; try again.",
        {
          retryAfterS: 1,
        },
      );
    }
    try {
      return await work();
    } finally {
      const next = hashesWaiting.shift();
      if (next) next();
      else hashesRunning--;
    }
  }

  function sessionBody(signedIn: {
    operator: SignedInOperator["operator"];
    token: string;
  }): OperatorSession {
    return {
      operator: { name: signedIn.operator.name, role: signedIn.operator.role },
      csrfToken: csrfTokenOf(signedIn.token),
      passwordChangeRequired: signedIn.operator.passwordChangeRequired,
    };
  }

  async function countAttempt(key: string, limit: number): Promise<void> {
    const { count, resetInMs } = await store.increment(key, limits.windowMs);
    if (count > limit) {
      throw new AppError("RATE_LIMITED", "Too many sign-in attempts; wait before trying again.", {
        retryAfterS: Math.max(1, Math.ceil(resetInMs / 1000)),
      });
    }
  }

  async function startSession(operator: SignedInOperator["operator"]) {
    const token = newOpaqueToken();
    const sessionId = await data.operators.createSession(
      operator.id,
      hashOpaqueToken(token),
      new Date(clock.now()),
    );
    return { sessionId, operator, token };
  }

  return {
    sessionBody,

    /** POST /api/admin/session. A wrong name and a wrong password answer alike. */
    async signIn(name: string, password: string, address: string) {
      const nameKey = createHash("sha256").update(name.toLowerCase()).digest("base64url");
      await countAttempt(
        `operator-signin:address:${ipKeyGenerator(address, 56)}`,
        limits.perAddress,
      );
      await countAttempt(`operator-signin:name:${nameKey}`, limits.perName);
      const operator = await data.operators.findByName(name);
      const hash = operator?.passwordHash ?? (await dummyHash);
      const matches = await hashing(() => verifyPassword(password, hash));
      if (!operator || !matches) throw new AppError("OPERATOR_SIGNIN_FAILED");
      return startSession(operator);
    },

    /** The operator of a session token, if it is live; the request extends its idle timeout. */
    async authenticate(token: string): Promise<SignedInOperator | null> {
      const now = clock.now();
      const found = await data.operators.touchSession(
        hashOpaqueToken(token),
        new Date(now),
        liveSessionCutoffs(now),
      );
      return found ? { ...found, token } : null;
    },

    signOut: (signedIn: SignedInOperator) => data.operators.deleteSession(signedIn.sessionId),

    /**
     * POST /api/admin/password. The operator's other sessions end; this one stays, with the same
     * CSRF token. Wrong current passwords count against the sign-in limit of the name.
     */
    async changePassword(signedIn: SignedInOperator, currentPassword: string, newPassword: string) {
      const nameKey = createHash("sha256")
        .update(signedIn.operator.name.toLowerCase())
        .digest("base64url");
      await countAttempt(`operator-signin:name:${nameKey}`, limits.perName);
      const operator = await data.operators.findById(signedIn.operator.id);
      if (
        !operator ||
        !(await hashing(() => verifyPassword(currentPassword, operator.passwordHash)))
      ) {
        throw new AppError("OPERATOR_PASSWORD_INCORRECT");
      }
      const passwordHash = await hashing(() => hashPassword(newPassword, cost));
      await data.transaction(async ({ operators }) => {
        await operators.setPassword(operator.id, passwordHash, false);
        await operators.deleteSessionsExcept(operator.id, signedIn.sessionId);
      });
      return sessionBody({
        operator: { ...signedIn.operator, passwordChangeRequired: false },
        token: signedIn.token,
      });
    },

    /**
     * operator:create. Resolves the one-time password, which must be changed at first sign-in.
     * `reset`: an existing operator of that name gets a new one-time password and the role instead
     * of an error, and their sessions end (a forgotten password). `dev` (pnpm dev only): the same,
     * and no change is asked for.
     */
    async create(
      name: string,
      role: OperatorRole,
      { dev = false, reset = false }: { dev?: boolean; reset?: boolean } = {},
    ): Promise<string> {
      const password = newOperatorPassword();
      const passwordHash = await hashPassword(password, cost);
      try {
        await data.operators.create({ name, role, passwordHash, passwordChangeRequired: !dev });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        const existing = reset || dev ? await data.operators.findByName(name) : null;
        if (!existing) {
          throw new Error(
            `an operator named "${name}" already exists (--reset gives it a new password)`,
          );
        }
        await data.transaction(async ({ operators }) => {
          await operators.setPassword(existing.id, passwordHash, !dev, role);
          await operators.deleteSessionsExcept(existing.id, null);
        });
      }
      return password;
    },
  };
}

export type Operators = ReturnType<typeof createOperators>;
