import type {
  AuthenticatedSession,
  RegistrationRequired,
  WechatLoginResponse,
} from "@wxauth/contracts";
import type { WechatClient, WechatSession } from "@wxauth/wechat";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { DataAccess } from "../db/data-access.js";
import { isUniqueViolation } from "../db/errors.js";
import { AppError } from "../errors.js";
import type { UserRecord } from "../users/users.repository.js";
import { bindWechatAccountToPhone, toUserBody } from "../users/users.service.js";
import type { AtRestCipher } from "./at-rest-cipher.js";
import { hashOpaqueToken, newOpaqueToken } from "./opaque-tokens.js";
import type { Sessions } from "./sessions.js";

/** A registration ticket lives 10 minutes: long enough to tap "allow", short enough to be useless stolen. */
export const REGISTRATION_TICKET_TTL_S = 600;

export interface AuthServiceDeps {
  data: DataAccess;
  wechat: WechatClient;
  sessions: Sessions;
  sessionKeyCipher: AtRestCipher;
  clock: Clock;
  logger: Logger;
  registrationMode: "phone" | "auto";
  /** How long a redemption holds its ticket; past it, a crashed redemption no longer blocks the ticket. */
  ticketLeaseMs: number;
}

export function createAuthService(deps: AuthServiceDeps) {
  const { data, wechat, sessions, sessionKeyCipher, clock } = deps;

  async function authenticated(user: UserRecord): Promise<AuthenticatedSession> {
    return { status: "authenticated", ...(await sessions.issue(user.id)), user: toUserBody(user) };
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

  return {
    /** POST /api/auth/wechat/login */
    async login(code: string): Promise<WechatLoginResponse> {
      const session = await wechat.code2Session(code);
      // Independent: on PostgreSQL they overlap instead of costing two round trips in a row.
      const [wechatSessionId, user] = await Promise.all([
        data.wechatSessions.save({
          openid: session.openid,
          unionid: session.unionid,
          sessionKeyCiphertext: sessionKeyCipher.encrypt(session.sessionKey),
          obtainedAt: new Date(clock.now()),
        }),
        data.users.findByOpenid(session.openid),
      ]);
      if (user) return authenticated(user);
      if (deps.registrationMode === "auto")
        return authenticated(await createWechatOnlyUser(session));
      return issueRegistrationTicket(session, wechatSessionId);
    },

    /**
     * POST /api/auth/wechat/register. Nothing is half-written: the ticket is leased first (a
     * concurrent redemption is refused), WeChat is asked for the phone, and only then one
     * transaction binds the account and marks the ticket used. Any failure gives the lease back,
     * so the ticket still works for a retry.
     */
    async register(registrationTicket: string, phoneCode: string): Promise<AuthenticatedSession> {
      const now = clock.now();
      const ticket = await data.registrationTickets.claim(
        hashOpaqueToken(registrationTicket),
        new Date(now),
        new Date(now + deps.ticketLeaseMs),
      );
      if (!ticket) throw new AppError("REGISTRATION_TICKET_INVALID");
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
        await data.registrationTickets.release(ticket.id).catch((releaseError: unknown) => {
          deps.logger.error({ err: releaseError }, "could not release a registration ticket");
        });
        throw error;
      }
      return authenticated(user);
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
