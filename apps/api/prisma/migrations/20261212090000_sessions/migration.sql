-- A session is one sign-in, which its user sees and can revoke, and the word family goes. The rows
-- are kept: the table, its column in refresh_tokens and their constraints and indexes are renamed.
-- (No semicolon in these comments: the JS schema engine splits the script at every one.)

-- RenameTable
ALTER TABLE "refresh_token_families" RENAME TO "sessions";
ALTER TABLE "sessions" RENAME CONSTRAINT "refresh_token_families_pkey" TO "sessions_pkey";
ALTER TABLE "sessions" RENAME CONSTRAINT "refresh_token_families_user_id_fkey" TO "sessions_user_id_fkey";
ALTER INDEX "refresh_token_families_user_id_idx" RENAME TO "sessions_user_id_idx";

-- RenameColumn
ALTER TABLE "refresh_tokens" RENAME COLUMN "family_id" TO "session_id";
ALTER TABLE "refresh_tokens" RENAME CONSTRAINT "refresh_tokens_family_id_fkey" TO "refresh_tokens_session_id_fkey";
ALTER INDEX "refresh_tokens_family_id_idx" RENAME TO "refresh_tokens_session_id_idx";
