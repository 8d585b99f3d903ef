-- WeChat's content checks (issue 26): the trace_id of an avatar's check, by which its verdict push
-- finds it, and when a risky avatar was removed, which GET /api/me shows the user.
-- AlterTable
ALTER TABLE "users" ADD COLUMN     "avatar_removed_at" TIMESTAMPTZ(3);

-- AlterTable
ALTER TABLE "avatars" ADD COLUMN     "check_trace_id" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "avatars_check_trace_id_key" ON "avatars"("check_trace_id");

