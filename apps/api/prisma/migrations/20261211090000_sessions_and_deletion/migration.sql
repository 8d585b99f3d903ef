-- Sessions users see and revoke, and account deletion. A refresh-token family (a session) gets the
-- device it signed in from and when it was last used, and a user the moment a deletion they asked
-- for is due.

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "deletion_scheduled_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "refresh_token_families" ADD COLUMN     "device_model" TEXT,
ADD COLUMN     "device_platform" TEXT,
ADD COLUMN     "device_system" TEXT,
ADD COLUMN     "last_used_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- Sessions begun before this migration count as last used when they began.
UPDATE "refresh_token_families" SET "last_used_at" = "created_at";

-- CreateIndex
CREATE INDEX "users_deletion_scheduled_at_idx" ON "users"("deletion_scheduled_at");

