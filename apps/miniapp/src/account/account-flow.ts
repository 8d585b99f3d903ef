import type { DeletionScheduled, Me, Session, SessionList, User } from "@wxauth/contracts";
import { ref } from "vue";
import { describeFailure } from "../errors/messages";
import { formatDateTime, formatDuration } from "./labels";

/** A dialog as uni.showModal shows it. */
export interface Dialog {
  title: string;
  content: string;
  confirmText?: string;
}

export interface AccountFlowDependencies {
  getMe(): Promise<Me>;
  listSessions(): Promise<SessionList>;
  revokeSession(sessionId: string): Promise<void>;
  revokeAllSessions(): Promise<void>;
  requestDeletion(): Promise<DeletionScheduled>;
  cancelDeletion(): Promise<User>;
  /** Asks the user; true when they confirm. */
  confirm(dialog: Dialog): Promise<boolean>;
  /** Tells the user something they acknowledge with one button. */
  inform(dialog: Dialog): Promise<void>;
  /** The user as the API now has it. */
  userChanged(user: User): void;
  /** This device's session is over: forget it and go back to the start as a guest. */
  signedOut(): void;
  /** A status line for the page. */
  report(message: string): void;
  now(): number;
}

export type AccountAction = "revoking" | "revoking_all" | "deleting" | "cancelling_deletion";

/** What the confirmation says will be deleted, and when: after the API's cooling-off, in seconds. */
export function deletionWarning(coolingOff: number): string {
  return (
    "注销后将永久删除你的账号，以及绑定的手机号、昵称、头像和全部登录设备，无法恢复。" +
    (coolingOff > 0
      ? `删除在 ${formatDuration(coolingOff)}冷静期后进行，期间用微信重新登录可以撤销注销。`
      : "删除将立即进行。")
  );
}

/** The notice a user signed in during the cooling-off period sees. */
export function deletionNotice(deletionScheduledAt: string): string {
  return `账号已申请注销，将于 ${formatDateTime(deletionScheduledAt)} 永久删除全部个人信息。`;
}

/**
 * The profile page's account controls: the sessions (signed-in devices) with sign-out of one or
 * all, and account deletion behind a confirmation, cancellable during its cooling-off period.
 * One action runs at a time; a failure becomes a status line and leaves the user where they were.
 */
export function createAccountFlow(deps: AccountFlowDependencies) {
  const sessions = ref<Session[]>([]);
  const pending = ref<AccountAction | null>(null);

  async function run(action: AccountAction, work: () => Promise<void>): Promise<void> {
    if (pending.value) return;
    pending.value = action;
    try {
      await work();
    } catch (error) {
      deps.report(describeFailure(error).message);
    } finally {
      pending.value = null;
    }
  }

  async function loadSessions(): Promise<void> {
    try {
      sessions.value = (await deps.listSessions()).sessions;
    } catch (error) {
      deps.report(describeFailure(error).message);
    }
  }

  const revokeSession = (sessionId: string) =>
    run("revoking", async () => {
      await deps.revokeSession(sessionId);
      sessions.value = sessions.value.filter((session) => session.id !== sessionId);
      deps.report("已退出该设备");
    });

  const revokeAllSessions = () =>
    run("revoking_all", async () => {
      await deps.revokeAllSessions();
      deps.signedOut();
    });

  const deleteAccount = () =>
    run("deleting", async () => {
      // Asked at the tap, so the warning names the cooling-off the API will apply.
      const { deletionCoolingOff } = await deps.getMe();
      const confirmed = await deps.confirm({
        title: "注销账号",
        content: deletionWarning(deletionCoolingOff),
        confirmText: "注销",
      });
      if (!confirmed) return;
      const { deletionScheduledAt } = await deps.requestDeletion();
      // The API signed every device out, this one included.
      await deps.inform(
        Date.parse(deletionScheduledAt) <= deps.now()
          ? { title: "账号已注销", content: "你的账号和全部个人信息已删除。" }
          : {
              title: "已申请注销",
              content:
                `账号将于 ${formatDateTime(deletionScheduledAt)} 永久删除。` +
                "在此之前用微信重新登录，可以撤销注销。",
            },
      );
      deps.signedOut();
    });

  const cancelDeletion = () =>
    run("cancelling_deletion", async () => {
      deps.userChanged(await deps.cancelDeletion());
      deps.report("已撤销注销，账号将继续保留");
    });

  return {
    sessions,
    pending,
    loadSessions,
    revokeSession,
    revokeAllSessions,
    deleteAccount,
    cancelDeletion,
  };
}
