import { createRefreshTokensRepository } from "../auth/refresh-tokens.repository.js";
import { createRegistrationTicketsRepository } from "../auth/registration-tickets.repository.js";
import { createWechatSessionsRepository } from "../auth/wechat-sessions.repository.js";
import { createAvatarsRepository } from "../avatars/avatars.repository.js";
import { createUsersRepository } from "../users/users.repository.js";
import type { Database, DatabaseTransaction } from "./client.js";
import { isUniqueViolation } from "./errors.js";

/** The repositories a transaction can span. */
function transactionalRepositories(db: Database | DatabaseTransaction) {
  return {
    users: createUsersRepository(db),
    registrationTickets: createRegistrationTicketsRepository(db),
    avatars: createAvatarsRepository(db),
  };
}
export type TransactionalRepositories = ReturnType<typeof transactionalRepositories>;

/**
 * Every repository over one database, and transactions across them. Services see only this:
 * Prisma stays behind the repositories, so PostgreSQL joins without touching a service.
 */
export function createDataAccess(db: Database) {
  return {
    ...transactionalRepositories(db),
    wechatSessions: createWechatSessionsRepository(db),
    refreshTokens: createRefreshTokensRepository(db),

    /**
     * Runs `work` in one transaction. A unique-constraint race (two writers creating the same
     * user or claiming the same phone) rolls it back and runs it again, so `work` re-reads and
     * decides with the winner's row in sight instead of failing.
     */
    async transaction<T>(
      work: (repositories: TransactionalRepositories) => Promise<T>,
      { attempts = 3 } = {},
    ): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.$transaction((tx: DatabaseTransaction) =>
            work(transactionalRepositories(tx)),
          );
        } catch (error) {
          if (!isUniqueViolation(error) || attempt >= attempts) throw error;
        }
      }
    },

    /** Touches a real table: an empty or half-migrated database is not "up". */
    async ping(): Promise<void> {
      await db.$queryRawUnsafe("SELECT 1 FROM users LIMIT 1");
    },

    close: () => db.$disconnect(),
  };
}

export type DataAccess = ReturnType<typeof createDataAccess>;
