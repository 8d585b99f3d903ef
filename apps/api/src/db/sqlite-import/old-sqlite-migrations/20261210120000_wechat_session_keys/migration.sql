-- WeChat's session_key records get a name of their own ("session" means a sign-in). The rows are
-- kept: the table is renamed, and registration_tickets is redefined with its column renamed.

-- RenameTable
ALTER TABLE "wechat_sessions" RENAME TO "wechat_session_keys";
DROP INDEX "wechat_sessions_openid_key";
CREATE UNIQUE INDEX "wechat_session_keys_openid_key" ON "wechat_session_keys"("openid");

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_registration_tickets" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "token_hash" TEXT NOT NULL,
    "openid" TEXT NOT NULL,
    "unionid" TEXT,
    "wechat_session_key_id" TEXT NOT NULL,
    "expires_at" DATETIME NOT NULL,
    "claimed_until" DATETIME,
    "used_at" DATETIME,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" DATETIME NOT NULL,
    CONSTRAINT "registration_tickets_wechat_session_key_id_fkey" FOREIGN KEY ("wechat_session_key_id") REFERENCES "wechat_session_keys" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_registration_tickets" ("claimed_until", "created_at", "expires_at", "id", "openid", "token_hash", "unionid", "updated_at", "used_at", "wechat_session_key_id") SELECT "claimed_until", "created_at", "expires_at", "id", "openid", "token_hash", "unionid", "updated_at", "used_at", "wechat_session_id" FROM "registration_tickets";
DROP TABLE "registration_tickets";
ALTER TABLE "new_registration_tickets" RENAME TO "registration_tickets";
CREATE UNIQUE INDEX "registration_tickets_token_hash_key" ON "registration_tickets"("token_hash");
CREATE INDEX "registration_tickets_wechat_session_key_id_idx" ON "registration_tickets"("wechat_session_key_id");
CREATE INDEX "registration_tickets_expires_at_idx" ON "registration_tickets"("expires_at");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
