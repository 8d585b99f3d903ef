import type {
  Authenticated,
  Device,
  RegistrationRequired,
  SmsCodeSent,
  WechatLoginResponse,
} from "@wxauth/contracts";
import type { Sealer } from "@wxauth/wechat";
import type { Logger } from "pino";
import type { Clock } from "../clock.js";
import type { DataAccess } from "../db/data-access.js";
import { isForeignKeyViolation, isUniqueViolation } from "../db/errors.js";
import { AppError } from "../errors.js";
import type { SmsCodes } from "../sms/sms-codes.js";
import type { SmsContext } from "../sms/sms-sender.js";
import type { LogSecurityEvent } from "../security-events/security-events.js";
import { accountDisabled, banInForce } from "../users/bans.js";
import {
  accountGone,
  bindWechatAccountToPhone,
  createWechatUser,
  toUserBody,
  type WechatIdentity,
} from "../users/user-accounts.js";
import type { WechatApp, WechatApps } from "../wechat/apps.js";
import type { UserRecord } from "../users/users.repository.js";
import { fetchPhoneNumber } from "../wechat/phone-numbers.js";
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
  /** Told the configured name of the app the request concerns, once known (the metrics' label). */
  reportApp?: (name: string) => void;
}

/** How a new account proved itself: the phone button, an SMS code, or nothing (auto mode). */
export type RegistrationMethod = "phone_button" | "sms" | "auto";

/** What the auth service reports as it happens (metrics.ts counts it). */
export interface AuthObserver {
  /** An account was created and signed in, through the app named `app` (its configured name). */
  registered(method: RegistrationMethod, app: string): void;
}

export interface AuthServiceDeps {
  data: DataAccess;
  apps: WechatApps;
  sessions: Sessions;
  smsCodes: SmsCodes;
  wechatSessionKeyCipher: Sealer;
  clock: Clock;
  logger: Logger;
  logSecurityEvent: LogSecurityEvent;
  registrationMode: "phone" | "auto";
  /** How long a redemption holds its ticket; past it, a crashed redemption no longer blocks the ticket. */
  ticketLeaseMs: number;
  observer: AuthObserver;
}

export function createAuthService(deps: AuthServiceDeps) {
  const { data, apps, sessions, smsCodes, wechatSessionKeyCipher, clock } = deps;

  /** Starts a session through `appid` for the user; null when the account was deleted under the sign-in. */
  async function signIn(
    user: UserRecord,
    appid: string,
    event: "login" | "register",
    { device, requestId }: SignInContext,
    wechatSessionKey?: WechatSessionKeyRecord,
  ): Promise<Authenticated | null> {
    if (banInForce(user, clock.now())) throw accountDisabled();
    const issued = await sessions.issue(user.id, appid, device ?? {}, wechatSessionKey);
    if (!issued) return null;
    await deps.logSecurityEvent(event, {
      userId: user.id,
      sessionId: issued.sessionId,
      requestId,
      details: { appid },
    });
    return { status: "authenticated", ...issued.tokens, user: toUserBody(user) };
  }

  const unlessGone = (authenticated: Authenticated | null): Authenticated => {
    if (!authenticated) throw accountGone();
    return authenticated;
  };

  /**
   * The account of a WeChat user who opened one app: by their identity in it, else by the unionid
   * WeChat returned (an account made through another app bound to the same Open Platform account,
   * which gains this identity: no phone asked). Null for a stranger.
   */
  async function findAccount(
    identity: WechatIdentity,
    requestId: string,
  ): Promise<UserRecord | null> {
    const user = await data.wechatIdentities.findUser(identity.appid, identity.openid);
    if (user) return backfillUnionid(user, identity.unionid);
    if (identity.unionid === null) return null;
    return linkByUnionid({ ...identity, unionid: identity.unionid }, requestId);
  }

  /**
   * A unionid WeChat returns for an account that has none (its app was bound to the Open Platform
   * after the user registered) is stored. Another account may hold it already (the person
   * registered separately in another app before the binding): the two stay apart, as they were.
   */
  async function backfillUnionid(user: UserRecord, unionid: string | null): Promise<UserRecord> {
    if (unionid === null || user.unionid !== null) return user;
    try {
      return (await data.users.update(user.id, { unionid })) ?? user;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      deps.logger.warn(
        { userId: user.id },
        "the unionid WeChat returned belongs to another account; left unset on this one",
      );
      return user;
    }
  }

  /** Adds the identity to the unionid's account, if there is one; logs `identity_linked`. */
  async function linkByUnionid(
    identity: WechatIdentity & { unionid: string },
    requestId: string,
  ): Promise<UserRecord | null> {
    let linked: { user: UserRecord; added: boolean } | null;
    try {
      // A concurrent login of the same code path adds the identity first: the loser's insert
      // fails on the unique index, and the transaction runs again and finds it.
      linked = await data.transaction(async ({ users, wechatIdentities }) => {
        const already = await wechatIdentities.findUser(identity.appid, identity.openid);
        if (already) return { user: already, added: false };
        const owner = await users.findByUnionid(identity.unionid);
        if (!owner) return null;
        await wechatIdentities.add({ userId: owner.id, ...identity });
        return { user: owner, added: true };
      });
    } catch (error) {
      // The account's purge came first: the person is a stranger again.
      if (isForeignKeyViolation(error)) return null;
      throw error;
    }
    if (linked?.added) {
      await deps.logSecurityEvent("identity_linked", {
        userId: linked.user.id,
        requestId,
        details: { appid: identity.appid },
      });
    }
    return linked?.user ?? null;
  }

  /**
   * Auto mode: concurrent first logins of one identity race on its unique index; all get the
   * winner, and only the winner `created` the account.
   */
  function createWechatOnlyUser(
    identity: WechatIdentity,
  ): Promise<{ user: UserRecord; created: boolean }> {
    return data.transaction(async (repositories) => {
      const winner = await repositories.wechatIdentities.findUser(identity.appid, identity.openid);
      if (winner) return { user: winner, created: false };
      return { user: await createWechatUser(repositories, identity), created: true };
    });
  }

  async function issueRegistrationTicket(
    identity: WechatIdentity,
    wechatSessionKeyId: string,
  ): Promise<RegistrationRequired> {
    const registrationTicket = newOpaqueToken();
    await data.registrationTickets.create({
      tokenHash: hashOpaqueToken(registrationTicket),
      appid: identity.appid,
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
    method: RegistrationMethod,
    context: SignInContext,
    provePhone: (claimed: {
      ticket: RegistrationTicketRecord;
      tokenHash: string;
      /** The app that issued the ticket: its WeChat redeems the phone code. */
      app: WechatApp;
    }) => Promise<string>,
  ): Promise<Authenticated> {
    const tokenHash = hashOpaqueToken(registrationTicket);
    const { ticket, leaseUntil } = await claimTicket(tokenHash);
    let user: UserRecord;
    // An app removed from the configuration since it issued the ticket cannot register anyone.
    const app = apps.find(ticket.appid);
    if (!app) {
      await releaseTicket(ticket.id, leaseUntil);
      throw new AppError("REGISTRATION_TICKET_INVALID");
    }
    try {
      const phone = await provePhone({ ticket, tokenHash, app });
      user = await data.transaction(async (repositories) => {
        const bound = await bindWechatAccountToPhone(repositories, ticket, phone);
        const { registrationTickets } = repositories;
        if (!(await registrationTickets.markUsed(ticket.id, new Date(clock.now())))) {
          throw new AppError("REGISTRATION_TICKET_INVALID");
        }
        return bound;
      });
    } catch (error) {
      await releaseTicket(ticket.id, leaseUntil);
      throw error;
    }
    const authenticated = unlessGone(await signIn(user, app.appid, "register", context));
    deps.observer.registered(method, app.name);
    return authenticated;
  }

  return {
    /**
     * POST /api/auth/wechat/login from the app `appid` (the only app when undefined): the user's
     * account, found by identity or unionid, or a registration ticket (an account, in auto mode).
     */
    async login(
      appid: string | undefined,
      code: string,
      context: SignInContext,
    ): Promise<WechatLoginResponse> {
      const app = apps.resolve(appid);
      context.reportApp?.(app.name);
      const { openid, unionid, sessionKey } = await app.client.code2Session(code);
      const identity: WechatIdentity = { appid: app.appid, openid, unionid };
      const wechatSessionKey: WechatSessionKeyRecord = {
        ...identity,
        sessionKeyCiphertext: wechatSessionKeyCipher.seal(sessionKey),
        obtainedAt: new Date(clock.now()),
      };
      const user = await findAccount(identity, context.requestId);
      if (user) {
        // A known user: the WeChat session key is saved with the sign-in, in one transaction.
        const authenticated = await signIn(user, app.appid, "login", context, wechatSessionKey);
        if (authenticated) return authenticated;
        // The account's deletion finished under this sign-in: the WeChat user is new again.
      }
      const wechatSessionKeyId = await data.wechatSessionKeys.save(wechatSessionKey);
      if (deps.registrationMode === "auto") {
        const { user: account, created } = await createWechatOnlyUser(identity);
        const authenticated = unlessGone(
          await signIn(account, app.appid, created ? "register" : "login", context),
        );
        if (created) deps.observer.registered("auto", app.name);
        return authenticated;
      }
      return issueRegistrationTicket(identity, wechatSessionKeyId);
    },

    /** POST /api/auth/wechat/register with a getPhoneNumber code. */
    register: (
      registrationTicket: string,
      phoneCode: string,
      context: SignInContext,
    ): Promise<Authenticated> =>
      redeem(registrationTicket, "phone_button", context, ({ ticket, app }) =>
        fetchPhoneNumber(deps.logSecurityEvent, app, {
          phoneCode,
          openid: ticket.openid,
          purpose: "register",
          userId: null,
          requestId: context.requestId,
        }),
      ),

    /**
     * POST /api/auth/wechat/register with a phone and the SMS code sent for this ticket. The code
     * is looked at only once the ticket is leased, so a refused ticket never uses a code up.
     */
    registerWithSmsCode: (
      registrationTicket: string,
      phone: string,
      smsCode: string,
      context: SignInContext,
    ): Promise<Authenticated> =>
      redeem(registrationTicket, "sms", context, async ({ tokenHash }) => {
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
