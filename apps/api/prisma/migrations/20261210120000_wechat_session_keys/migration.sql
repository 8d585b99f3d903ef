-- WeChat's session_key records get a name of their own ("session" means a sign-in). The rows are
-- kept: the table, its column in registration_tickets and their constraints are renamed.

-- RenameTable
ALTER TABLE "wechat_sessions" RENAME TO "wechat_session_keys";
ALTER TABLE "wechat_session_keys" RENAME CONSTRAINT "wechat_sessions_pkey" TO "wechat_session_keys_pkey";
ALTER INDEX "wechat_sessions_openid_key" RENAME TO "wechat_session_keys_openid_key";

-- RenameColumn
ALTER TABLE "registration_tickets" RENAME COLUMN "wechat_session_id" TO "wechat_session_key_id";
ALTER TABLE "registration_tickets" RENAME CONSTRAINT "registration_tickets_wechat_session_id_fkey" TO "registration_tickets_wechat_session_key_id_fkey";
ALTER INDEX "registration_tickets_wechat_session_id_idx" RENAME TO "registration_tickets_wechat_session_key_id_idx";
