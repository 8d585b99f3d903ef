-- Sessions users see and revoke, and account deletion. A refresh-token family (a session) gets the
-- device it signed in from and when it was last used, and a user the moment a deletion they asked
-- for is due. Existing sessions count as last used when they began: the copy takes created_at, in
-- the same text form as every date the API writes.

-- AlterTable
ALTER TABLE "users" ADD COLUMN "deletion_scheduled_at" DATETIME;

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_refresh_token_families" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "user_id" TEXT NOT NULL,
    "device_platform" TEXT,
    "device_model" TEXT,
    "device_system" TEXT,
    "last_used_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "revoked_at" DATETIME,
    "revoked_reason" TEXT,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" DATETIME NOT NULL,
    CONSTRAINT "refresh_token_families_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_refresh_token_families" ("created_at", "id", "last_used_at", "revoked_at", "revoked_reason", "updated_at", "user_id") SELECT "created_at", "id", "created_at", "revoked_at", "revoked_reason", "updated_at", "user_id" FROM "refresh_token_families";
DROP TABLE "refresh_token_families";
ALTER TABLE "new_refresh_token_families" RENAME TO "refresh_token_families";
CREATE INDEX "refresh_token_families_user_id_idx" ON "refresh_token_families"("user_id");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "users_deletion_scheduled_at_idx" ON "users"("deletion_scheduled_at");

