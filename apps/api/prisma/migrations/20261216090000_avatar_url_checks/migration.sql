-- An avatarUrl set as a URL (not uploaded) is checked by WeChat too: the trace_id of its check, by
-- which the verdict push finds the user.
-- AlterTable
ALTER TABLE "users" ADD COLUMN     "avatar_check_trace_id" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "users_avatar_check_trace_id_key" ON "users"("avatar_check_trace_id");
