import type {
  AuthenticatedSession,
  RegistrationRequired,
  WechatLoginResponse,
} from "@wxauth/contracts";
import type { Sealer, WechatClient, WechatSession } from "@wxauth/wechat";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { DataAccess } from "../db/data-access.js";
import { isUniqueViolation } from "../db/errors.js";
import { AppError } from "../errors.js";
import type { UserRecord } from "../users/users.repository.js";
import { bindWechatAccountToPhone, toUserBody } from "../users/users.service.js";
import { hashOpaqueToken, newOpaqueToken } from "./opaque-tokens.js";
import type { Sessions } from "./sessions.js";
import type { WechatSessionWrite } from "./wechat-sessions.repository.js";

/** A registration ticket lives 10 minutes: long enough to tap "allow", short enough to be useless stolen. */
export const REGISTRATION_TICKET_TTL_S = 600;

export interface AuthServiceDeps {
  data: DataAccess;
  wechat: WechatClient;
  sessions: Sessions;
  sessionKeyCipher: Sealer;
  clock: Clock;
  logger: Logger;
  registrationMode: "phone" | "auto";
  /** How long a redemption holds its ticket; past it, a crashed redemption no longer blocks the ticket. */
  ticketLeaseMs: number;
}

/** Back-off between attempts to give back a lease the database refused to release. */
const RELEASE_RETRY_FIRST_DELAY_MS = 100;
const RELEASE_RETRY_MAX_DELAY_MS = 2000;

interface OwedRelease {
  ticketId: string;
  leaseUntil: Date;
  /** performance.now() when the first release failed: retries stop one lease length after it. */
  since: number;
  attempts: number;
  nextDelayMs: number;
  timer: NodeJS.Timeout | undefined;
  inFlight: Promise<boolean> | undefined;
}

/**
 * Ticket leases this process still owes back. Giving a lease back is itself a write, so the
 * database that refused a redemption usually refuses the release too; the lease would then block
 * the user's retry until it ran out (WECHAT_TIMEOUT_MS + 10 s). Each owed release is retried in
 * the background with back-off until the lease would have ended anyway, and a retry of the same
 * ticket in this process gives it back first instead of being refused.
 */
function createOwedTicketReleases(
  registrationTickets: DataAccess["registrationTickets"],
  clock: Clock,
  logger: Logger,
  leaseMs: number,
) {
  /** By the ticket's token hash, which is what a retried redemption knows. */
  const owed = new Map<string, OwedRelease>();
  let closed = false;

  /** One release at a time per ticket, shared by the background retry and a retried redemption. */
  function attempt(tokenHash: string, release: OwedRelease): Promise<boolean> {
    release.inFlight ??= (async () => {
      release.attempts += 1;
      try {
        await registrationTickets.release(release.ticketId, release.leaseUntil);
      } catch (error) {
        logger.debug({ err: error, ticketId: release.ticketId }, "lease release failed again");
        return false;
      } finally {
        release.inFlight = undefined;
      }
      if (owed.get(tokenHash) === release) owed.delete(tokenHash);
      clearTimeout(release.timer);
      if (release.attempts > 1) {
        logger.info(
          { ticketId: release.ticketId, attempts: release.attempts },
          "gave back a registration ticket's lease once the database took writes again",
        );
      }
      return true;
    })();
    return release.inFlight;
  }

  function scheduleRetry(tokenHash: string, release: OwedRelease): void {
    release.timer = setTimeout(() => {
      release.timer = undefined;
      void retryInBackground(tokenHash, release);
    }, release.nextDelayMs);
    // Never what keeps a process alive: the lease ends by itself.
    release.timer.unref();
    release.nextDelayMs = Math.min(release.nextDelayMs * 2, RELEASE_RETRY_MAX_DELAY_MS);
  }

  async function retryInBackground(tokenHash: string, release: OwedRelease): Promise<void> {
    if (closed || owed.get(tokenHash) !== release) return;
    const leaseOver =
      clock.now() >= release.leaseUntil.getTime() || performance.now() - release.since >= leaseMs;
    if (leaseOver) {
      owed.delete(tokenHash);
      logger.warn(
        { ticketId: release.ticketId, attempts: release.attempts },
        "stopped retrying a registration ticket's lease release: the lease has ended by itself",
      );
      return;
    }
    if (!(await attempt(tokenHash, release)) && !closed) scheduleRetry(tokenHash, release);
  }

  return {
    /** Gives the lease back; when the database refuses, owes it and retries in the background. Never throws. */
    async release(tokenHash: string, ticketId: string, leaseUntil: Date): Promise<void> {
      const release: OwedRelease = {
        ticketId,
        leaseUntil,
        since: performance.now(),
        attempts: 0,
        nextDelayMs: RELEASE_RETRY_FIRST_DELAY_MS,
        timer: undefined,
        inFlight: undefined,
      };
      owed.set(tokenHash, release);
      if (await attempt(tokenHash, release)) return;
      if (closed) return;
      logger.warn(
        { ticketId },
        "could not give back a registration ticket's lease; retrying in the background",
      );
      scheduleRetry(tokenHash, release);
    },

    /**
     * Gives back now a lease this process owes on the ticket. Resolves undefined when it owes
     * none (the ticket is leased by a live redemption, or unusable), else whether it is given back.
     */
    async settle(tokenHash: string): Promise<boolean | undefined> {
      const release = owed.get(tokenHash);
      return release ? attempt(tokenHash, release) : undefined;
    },

    /** Shutdown: no more retries. What is still owed ends with its lease. */
    close(): void {
      closed = true;
      for (const release of owed.values()) clearTimeout(release.timer);
      if (owed.size > 0) {
        logger.warn(
          { leases: owed.size },
          "shutting down with registration ticket leases not given back; they end by themselves",
        );
      }
      owed.clear();
    },
  };
}

export function createAuthService(deps: AuthServiceDeps) {
  const { data, wechat, sessions, sessionKeyCipher, clock } = deps;
  const owedReleases = createOwedTicketReleases(
    data.registrationTickets,
    clock,
    deps.logger,
    deps.ticketLeaseMs,
  );

  async function authenticated(
    user: UserRecord,
    wechatSession?: WechatSessionWrite,
  ): Promise<AuthenticatedSession> {
    const tokens = await sessions.issue(user.id, wechatSession);
    return { status: "authenticated", ...tokens, user: toUserBody(user) };
  }

  /** Auto mode: concurrent first logins of one openid race on its unique index; all get the winner. */
  async function createWechatOnlyUser(session: WechatSession): Promise<UserRecord> {
    try {
      return await data.users.create({ openid: session.openid, unionid: session.unionid });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const winner = await data.users.findByOpenid(session.openid);
      if (winner) return winner;
      // Not the openid but the unionid was taken (see bindWechatAccountToPhone): go without it.
      return data.users.create({ openid: session.openid, unionid: null });
    }
  }

  async function issueRegistrationTicket(
    session: WechatSession,
    wechatSessionId: string,
  ): Promise<RegistrationRequired> {
    const registrationTicket = newOpaqueToken();
    await data.registrationTickets.create({
      tokenHash: hashOpaqueToken(registrationTicket),
      openid: session.openid,
      unionid: session.unionid,
      wechatSessionId,
      expiresAt: new Date(clock.now() + REGISTRATION_TICKET_TTL_S * 1000),
    });
    return {
      status: "registration_required",
      registrationTicket,
      expiresIn: REGISTRATION_TICKET_TTL_S,
    };
  }

  /** Leases the ticket for one redemption; resolves with the lease's end, the release's fence. */
  async function claimTicket(tokenHash: string) {
    const claimFromNow = async () => {
      const now = clock.now();
      const leaseUntil = new Date(now + deps.ticketLeaseMs);
      const ticket = await data.registrationTickets.claim(tokenHash, new Date(now), leaseUntil);
      return ticket ? { ticket, leaseUntil } : null;
    };
    const claimed = await claimFromNow();
    if (claimed) return claimed;
    // Leased by a redemption of this process that failed and could not give it back yet: the
    // user's retry gives it back now instead of being told to start over.
    const released = await owedReleases.settle(tokenHash);
    if (released === false) throw new AppError("SERVICE_UNAVAILABLE");
    const reclaimed = released ? await claimFromNow() : null;
    if (!reclaimed) throw new AppError("REGISTRATION_TICKET_INVALID");
    return reclaimed;
  }

  return {
    /** POST /api/auth/wechat/login */
    async login(code: string): Promise<WechatLoginResponse> {
      const session = await wechat.code2Session(code);
      const wechatSession: WechatSessionWrite = {
        openid: session.openid,
        unionid: session.unionid,
        sessionKeyCiphertext: sessionKeyCipher.seal(session.sessionKey),
        obtainedAt: new Date(clock.now()),
      };
      const user = await data.users.findByOpenid(session.openid);
      // A known user: the session is saved with the sign-in, in one transaction.
      if (user) return authenticated(user, wechatSession);
      const wechatSessionId = await data.wechatSessions.save(wechatSession);
      if (deps.registrationMode === "auto")
        return authenticated(await createWechatOnlyUser(session));
      return issueRegistrationTicket(session, wechatSessionId);
    },

    /**
     * POST /api/auth/wechat/register. Nothing is half-written: the ticket is leased first (a
     * concurrent redemption is refused), WeChat is asked for the phone, and only then one
     * transaction binds the account and marks the ticket used. Any failure gives the lease back,
     * so the ticket still works for a retry, also when the database refused the redemption (and
     * with it, at first, the release).
     */
    async register(registrationTicket: string, phoneCode: string): Promise<AuthenticatedSession> {
      const tokenHash = hashOpaqueToken(registrationTicket);
      const { ticket, leaseUntil } = await claimTicket(tokenHash);
      let user: UserRecord;
      try {
        const phone = await wechat.getPhoneNumber(phoneCode, ticket.openid);
        user = await data.transaction(async ({ users, registrationTickets }) => {
          const bound = await bindWechatAccountToPhone(users, ticket, phone.e164);
          if (!(await registrationTickets.markUsed(ticket.id, new Date(clock.now())))) {
            throw new AppError("REGISTRATION_TICKET_INVALID");
          }
          return bound;
        });
      } catch (error) {
        await owedReleases.release(tokenHash, ticket.id, leaseUntil);
        throw error;
      }
      return authenticated(user);
    },

    /** Shutdown: stops retrying lease releases in the background. */
    close(): void {
      owedReleases.close();
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
