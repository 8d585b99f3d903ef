import { createRefreshTokensRepository } from "../auth/refresh-tokens.repository.js";
import { createRegistrationTicketsRepository } from "../auth/registration-tickets.repository.js";
import { createWechatSessionKeysRepository } from "../auth/wechat-session-keys.repository.js";
import { createAvatarsRepository } from "../avatars/avatars.repository.js";
import { createUsersRepository } from "../users/users.repository.js";
import type { Database, Sql } from "./client.js";
import { isUniqueViolation } from "./errors.js";

/** Every repository over one Sql: the database's, or an open transaction's. */
function repositoriesOn(sql: Sql) {
  return {
    users: createUsersRepository(sql),
    wechatSessionKeys: createWechatSessionKeysRepository(sql),
    registrationTickets: createRegistrationTicketsRepository(sql),
    refreshTokens: createRefreshTokensRepository(sql),
    avatars: createAvatarsRepository(sql),
  };
}
export type Repositories = ReturnType<typeof repositoriesOn>;

/**
 * Every repository over one database, and transactions across them. Services see only this: SQL
 * stays behind the repositories, and each repository writes its own tables only.
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
          return await db.transaction((transaction) => work(repositoriesOn(transaction)));
        } catch (error) {
          if (!isUniqueViolation(error) || attempt >= attempts) throw error;
        }
      }
    },

    /** Touches a real table: an empty or half-migrated database is not "up". */
    async ping(): Promise<void> {
      await db.query("SELECT 1 FROM users LIMIT 1");
    },

    close: () => db.close(),
  };
}

export type DataAccess = ReturnType<typeof createDataAccess>;
