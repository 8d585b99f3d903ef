import { createRegistrationTicketsRepository } from "../auth/registration-tickets.repository.js";
import { createSessionsRepository } from "../auth/sessions.repository.js";
import { createWechatSessionKeysRepository } from "../auth/wechat-session-keys.repository.js";
import { createAvatarsRepository } from "../avatars/avatars.repository.js";
import { createAuditRepository } from "../admin/audit.repository.js";
import { createAdminUsersRepository } from "../admin/admin-users.repository.js";
import { createOperatorsRepository } from "../admin/operators.repository.js";
import { createSecurityEventsRepository } from "../security-events/security-events.repository.js";
import { createUsersRepository } from "../users/users.repository.js";
import { createWechatIdentitiesRepository } from "../users/wechat-identities.repository.js";
import type { Database } from "./client.js";
import { isUniqueViolation } from "./errors.js";

/** Every repository on one database: the database itself, or an open transaction. */
function repositoriesOn(db: Database) {
  return {
    users: createUsersRepository(db),
    wechatIdentities: createWechatIdentitiesRepository(db),
    wechatSessionKeys: createWechatSessionKeysRepository(db),
    registrationTickets: createRegistrationTicketsRepository(db),
    sessions: createSessionsRepository(db),
    avatars: createAvatarsRepository(db),
    securityEvents: createSecurityEventsRepository(db),
    operators: createOperatorsRepository(db),
    audit: createAuditRepository(db),
    adminUsers: createAdminUsersRepository(db),
  };
}
export type Repositories = ReturnType<typeof repositoriesOn>;

/**
 * Every repository over one database, and transactions across them. Services see only this:
 * queries stay behind the repositories, and each repository writes its own tables only.
 */
export function createDataAccess(db: Database) {
  return {
    ...repositoriesOn(db),

    /**
     * Runs `work` in one transaction, handing it the repositories on that transaction. A
     * unique-constraint race (two writers creating the same user or claiming the same phone)
     * rolls it back and runs it again, so `work` re-reads and decides with the winner's row in
     * sight instead of failing.
     */
    async transaction<T>(
      work: (repositories: Repositories) => Promise<T>,
      { attempts = 3 } = {},
    ): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction().execute((transaction) => work(repositoriesOn(transaction)));
        } catch (error) {
          if (!isUniqueViolation(error) || attempt >= attempts) throw error;
        }
      }
    },

    /** Touches a real table: an empty or half-migrated database is not "up". */
    async ping(): Promise<void> {
      await db.selectFrom("users").select("id").limit(1).execute();
    },

    close: () => db.destroy(),
  };
}

export type DataAccess = ReturnType<typeof createDataAccess>;
