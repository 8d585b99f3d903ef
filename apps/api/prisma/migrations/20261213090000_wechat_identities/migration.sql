-- One account across several mini programs. A user keeps at most one unionid and gains any number of
-- WeChat identities, an openid per app (appid). users.openid moves into wechat_identities, and the
-- session keys, registration tickets and sessions name the app they belong to.
--
-- SQL cannot know which appid the deployment is configured with, so every row that existed before
-- gets the appid 'unadopted' (no real appid looks like it: they start with wx). At start, before it
-- serves, the API gives those rows its first configured app, the one it ran with until now
-- (src/wechat/adopt-unadopted.ts). Nothing is lost and nothing guessed here.
-- (No semicolon in these comments: the JS schema engine splits the script at every one.)

-- CreateTable
CREATE TABLE "wechat_identities" (
    "id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "appid" TEXT NOT NULL,
    "openid" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "wechat_identities_pkey" PRIMARY KEY ("id")
);

-- MoveData: every user's openid becomes an identity, dated from the account
INSERT INTO "wechat_identities" ("id", "user_id", "appid", "openid", "created_at", "updated_at")
SELECT gen_random_uuid()::text, "id", 'unadopted', "openid", "created_at", CURRENT_TIMESTAMP
FROM "users" WHERE "openid" IS NOT NULL;

-- DropIndex
DROP INDEX "users_openid_key";

-- DropIndex
DROP INDEX "wechat_session_keys_openid_key";

-- AlterTable
ALTER TABLE "users" DROP COLUMN "openid";

-- AlterTable: existing rows get the placeholder, new rows must name their app
ALTER TABLE "wechat_session_keys" ADD COLUMN     "appid" TEXT NOT NULL DEFAULT 'unadopted';
ALTER TABLE "wechat_session_keys" ALTER COLUMN "appid" DROP DEFAULT;

-- AlterTable
ALTER TABLE "registration_tickets" ADD COLUMN     "appid" TEXT NOT NULL DEFAULT 'unadopted';
ALTER TABLE "registration_tickets" ALTER COLUMN "appid" DROP DEFAULT;

-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "appid" TEXT NOT NULL DEFAULT 'unadopted';
ALTER TABLE "sessions" ALTER COLUMN "appid" DROP DEFAULT;

-- CreateIndex
CREATE INDEX "wechat_identities_user_id_idx" ON "wechat_identities"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "wechat_identities_appid_openid_key" ON "wechat_identities"("appid", "openid");

-- CreateIndex
CREATE UNIQUE INDEX "wechat_session_keys_appid_openid_key" ON "wechat_session_keys"("appid", "openid");

-- AddForeignKey
ALTER TABLE "wechat_identities" ADD CONSTRAINT "wechat_identities_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
