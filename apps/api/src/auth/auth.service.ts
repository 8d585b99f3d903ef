import type {
  AuthenticatedSession,
  Device,
  RegistrationRequired,
  SmsCodeSent,
  WechatLoginResponse,
} from "@wxauth/contracts";
import type { Sealer, WechatClient } from "@wxauth/wechat";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { DataAccess } from "../db/data-access.js";
import { isUniqueViolation } from "../db/errors.js";
import { AppError } from "../errors.js";
import type { SmsCodes } from "../sms/sms-codes.js";
import type { SmsContext } from "../sms/sms-sender.js";
import type { LogSecurityEvent } from "../security-events/security-events.js";
import { accountDisabled, banInForce } from "../users/bans.js";
import {
  accountGone,
  bindWechatAccountToPhone,
  toUserBody,
  type WechatIdentity,
} from "../users/user-accounts.js";
import type { UserRecord } from "../users/users.repository.js";
import { hashOpaqueToken, newOpaqueToken } from "./opaque-tokens.js";
import type { RegistrationTicketRecord } from "./registration-tickets.repository.js";
import type { Sessions } from "./sessions.js";
import type { WechatSessionKeyRecord } from "./wechat-session-keys.repository.js";

/** A registration ticket lives 10 minutes: long enough to tap "allow", short enough to be useless stolen. */
export const REGISTRATION_TICKET_TTL_S = 600;

/** Where a sign-in comes from: the device it reports, and the request it arrives in. */
export interface SignInContext {
  device: Device | undefined;
  requestId: string;
}

export interface AuthServiceDeps {
  data: DataAccess;
  wechat: WechatClient;
  sessions: Sessions;
  smsCodes: SmsCodes;
  sessionKeyCipher: Sealer;
  clock: Clock;
  logger: Logger;
  logSecurityEvent: LogSecurityEvent;
  registrationMode: "phone" | "auto";
  /** How long a redemption holds its ticket; past it, a crashed redemption no longer blocks the ticket. */
  ticketLeaseMs: number;
}

export function createAuthService(deps: AuthServiceDeps) {
  const { data, wechat, sessions, smsCodes, sessionKeyCipher, clock } = deps;

  /** Starts a session for the user; null when the account was deleted under the sign-in. */
  async function signIn(
    user: UserRecord,
    event: "login" | "register",
    { device, requestId }: SignInContext,
    wechatSessionKey?: WechatSessionKeyRecord,
  ): Promise<AuthenticatedSession | null> {
    if (banInForce(user, clock.now())) throw accountDisabled();
    const issued = await sessions.issue(user.id, device ?? {}, wechatSessionKey);
    if (!issued) return null;
    await deps.logSecurityEvent(event, {
      userId: user.id,
      sessionId: issued.sessionId,
      requestId,
    });
    return { status: "authenticated", ...issued.tokens, user: toUserBody(user) };
  }

  const unlessGone = (session: AuthenticatedSession | null): AuthenticatedSession => {
    if (!session) throw accountGone();
    return session;
  };

  /** Auto mode: concurrent first logins of one openid race on its unique index; all get the winner. */
  async function createWechatOnlyUser(identity: WechatIdentity): Promise<UserRecord> {
    try {
      return await data.users.create({ openid: identity.openid, unionid: identity.unionid });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const winner = await data.users.findByOpenid(identity.openid);
      if (winner) return winner;
      // Not the openid but the unionid was taken (see bindWechatAccountToPhone): go without it.
      return data.users.create({ openid: identity.openid, unionid: null });
    }
  }

  async function issueRegistrationTicket(
    identity: WechatIdentity,
    wechatSessionKeyId: string,
  ): Promise<RegistrationRequired> {
    const registrationTicket = newOpaqueToken();
    await data.registrationTickets.create({
      tokenHash: hashOpaqueToken(registrationTicket),
      openid: identity.openid,
      unionid: identity.unionid,
      wechatSessionKeyId,
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
    const now = clock.now();
    const leaseUntil = new Date(now + deps.ticketLeaseMs);
    const ticket = await data.registrationTickets.claim(tokenHash, new Date(now), leaseUntil);
    if (!ticket) throw new AppError("REGISTRATION_TICKET_INVALID");
    return { ticket, leaseUntil };
  }

  /**
   * Gives a failed redemption's lease back, so the ticket works for a retry. Best effort: the
   * database that refused the redemption may refuse this too, and then the lease ends by itself
   * (ticketLeaseMs); a retry meanwhile gets REGISTRATION_TICKET_INVALID, on which the mini
   * program asks for a fresh ticket.
   */
  async function releaseTicket(ticketId: string, leaseUntil: Date): Promise<void> {
    try {
      await data.registrationTickets.release(ticketId, leaseUntil);
    } catch (error) {
      deps.logger.warn(
        { err: error, ticketId },
        "could not give back a registration ticket's lease; it ends by itself",
      );
    }
  }

  /**
   * Registers the ticket's WeChat user with the phone `provePhone` proves (E.164). Nothing is
   * half-written: the ticket is leased first (a concurrent redemption is refused), the phone is
   * proven, and only then one transaction binds the account and marks the ticket used. Any
   * failure gives the lease back, so the ticket still works for a retry.
   */
  async function redeem(
    registrationTicket: string,
    context: SignInContext,
    provePhone: (claimed: {
      ticket: RegistrationTicketRecord;
      tokenHash: string;
    }) => Promise<string>,
  ): Promise<AuthenticatedSession> {
    const tokenHash = hashOpaqueToken(registrationTicket);
    const { ticket, leaseUntil } = await claimTicket(tokenHash);
    let user: UserRecord;
    try {
      const phone = await provePhone({ ticket, tokenHash });
      user = await data.transaction(async ({ users, registrationTickets }) => {
        const bound = await bindWechatAccountToPhone(users, ticket, phone);
        if (!(await registrationTickets.markUsed(ticket.id, new Date(clock.now())))) {
          throw new AppError("REGISTRATION_TICKET_INVALID");
        }
        return bound;
      });
    } catch (error) {
      await releaseTicket(ticket.id, leaseUntil);
      throw error;
    }
    return unlessGone(await signIn(user, "register", context));
  }

  return {
    /** POST /api/auth/wechat/login */
    async login(code: string, context: SignInContext): Promise<WechatLoginResponse> {
      const { openid, unionid, sessionKey } = await wechat.code2Session(code);
      const wechatSessionKey: WechatSessionKeyRecord = {
        openid,
        unionid,
        sessionKeyCiphertext: sessionKeyCipher.seal(sessionKey),
        obtainedAt: new Date(clock.now()),
      };
      const user = await data.users.findByOpenid(openid);
      if (user) {
        // A known user: the session_key is saved with the sign-in, in one transaction.
        const session = await signIn(user, "login", context, wechatSessionKey);
        if (session) return session;
        // The account's deletion finished under this sign-in: the WeChat user is new again.
      }
      const wechatSessionKeyId = await data.wechatSessionKeys.save(wechatSessionKey);
      if (deps.registrationMode === "auto") {
        const created = await createWechatOnlyUser({ openid, unionid });
        return unlessGone(await signIn(created, "register", context));
      }
      return issueRegistrationTicket({ openid, unionid }, wechatSessionKeyId);
    },

    /** POST /api/auth/wechat/register with a getPhoneNumber code. */
    register: (
      registrationTicket: string,
      phoneCode: string,
      context: SignInContext,
    ): Promise<AuthenticatedSession> =>
      redeem(registrationTicket, context, async ({ ticket }) => {
        const phone = await wechat.getPhoneNumber(phoneCode, ticket.openid);
        // Billed by WeChat: counted in the console's spend.
        await deps.logSecurityEvent("phone_number_fetched", {
          userId: null,
          requestId: context.requestId,
          details: { purpose: "register" },
        });
        return phone.e164;
      }),

    /**
     * POST /api/auth/wechat/register with a phone and the SMS code sent for this ticket. The code
     * is looked at only once the ticket is leased, so a refused ticket never uses a code up.
     */
    registerWithSmsCode: (
      registrationTicket: string,
      phone: string,
      smsCode: string,
      context: SignInContext,
    ): Promise<AuthenticatedSession> =>
      redeem(registrationTicket, context, async ({ tokenHash }) => {
        const verified = await smsCodes.verify({
          purpose: "register",
          subject: tokenHash,
          phone,
          code: smsCode,
          requestId: context.requestId,
        });
        return verified.phone;
      }),

    /**
     * POST /api/auth/sms/send: a code for registering the ticket's WeChat user, bound to the
     * ticket (its hash) and the phone. A ticket that could not register gets no SMS.
     */
    async sendRegistrationSms(
      registrationTicket: string,
      phone: string,
      context: SmsContext & { ip: string },
    ): Promise<SmsCodeSent> {
      const tokenHash = hashOpaqueToken(registrationTicket);
      if (!(await data.registrationTickets.isUsable(tokenHash, new Date(clock.now())))) {
        throw new AppError("REGISTRATION_TICKET_INVALID");
      }
      const { expiresIn, retryAfter } = await smsCodes.send({
        purpose: "register",
        subject: tokenHash,
        phone,
        ...context,
      });
      return { expiresIn, retryAfter };
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
