import type { DeletionScheduled, Session, User } from "@wxauth/contracts";
import { describe, expect, it } from "vitest";
import { ApiError, TransportError } from "../http/errors";
import { deferred } from "../testing/fake-uni";
import { errorBody, user } from "../testing/fixtures";
import { createAccountFlow, DELETION_WARNING, type Dialog } from "./account-flow";

const NOW = Date.parse("2026-12-04T08:00:00.000Z");

function session(id: string, current = false): Session {
  return {
    id,
    createdAt: "2026-12-01T08:00:00.000Z",
    lastUsedAt: "2026-12-04T07:00:00.000Z",
    device: { model: "iPhone 15", system: "iOS 17.0" },
    app: { appid: "wx-this-app", name: "shop" },
    current,
  };
}

const apiError = (code: Parameters<typeof errorBody>[0]) => {
  const { statusCode, data } = errorBody(code);
  return new ApiError(statusCode, data.error);
};

/** The flow over a scripted API; what it shows and does is recorded. */
function scripted(
  options: {
    sessions?: Session[];
    confirm?: boolean;
    deletion?: DeletionScheduled | Error;
    /** Every call but listSessions fails with this. */
    failWith?: Error;
    /** Calls wait for this before answering. */
    gate?: Promise<void>;
  } = {},
) {
  const record = {
    calls: [] as string[],
    dialogs: [] as Dialog[],
    reports: [] as string[],
    users: [] as User[],
    signedOut: 0,
  };
  const answer = async <T>(call: string, value: T): Promise<T> => {
    record.calls.push(call);
    await options.gate;
    if (options.failWith) throw options.failWith;
    return value;
  };
  const flow = createAccountFlow({
    listSessions: async () => ({ sessions: options.sessions ?? [] }),
    revokeSession: (id) => answer(`revokeSession ${id}`, undefined),
    revokeAllSessions: () => answer("revokeAllSessions", undefined),
    requestDeletion: async () => {
      record.calls.push("requestDeletion");
      const deletion = options.deletion ?? { deletionScheduledAt: "2026-12-11T08:00:00.000Z" };
      if (deletion instanceof Error) throw deletion;
      return deletion;
    },
    cancelDeletion: () => answer("cancelDeletion", { ...user, deletionScheduledAt: null }),
    confirm: async (dialog) => {
      record.dialogs.push(dialog);
      return options.confirm ?? true;
    },
    inform: async (dialog) => {
      record.dialogs.push(dialog);
    },
    userChanged: (changed) => record.users.push(changed),
    signedOut: () => (record.signedOut += 1),
    report: (message) => record.reports.push(message),
    now: () => NOW,
  });
  return { flow, record };
}

describe("account flow", () => {
  it("lists the sessions as the API sends them", async () => {
    const sessions = [session("s2", true), session("s1")];
    const { flow } = scripted({ sessions });
    await flow.loadSessions();
    expect(flow.sessions.value).toEqual(sessions);
  });

  it("signs another device out and drops it from the list", async () => {
    const { flow, record } = scripted({ sessions: [session("s2", true), session("s1")] });
    await flow.loadSessions();
    await flow.revokeSession("s1");
    expect(record.calls).toContain("revokeSession s1");
    expect(flow.sessions.value.map((listed) => listed.id)).toEqual(["s2"]);
    expect(record.reports).toEqual(["已退出该设备"]);
    expect(record.signedOut).toBe(0);
  });

  it("keeps the list and says why when signing a device out fails", async () => {
    const { flow, record } = scripted({
      sessions: [session("s2", true), session("s1")],
      failWith: new TransportError("network", "request:fail"),
    });
    await flow.loadSessions();
    await flow.revokeSession("s1");
    expect(record.reports).toEqual(["网络连接失败，请检查网络后重试"]);
    expect(flow.sessions.value).toHaveLength(2);
  });

  it("signs out everywhere, then leaves this device as a guest", async () => {
    const { flow, record } = scripted();
    await flow.revokeAllSessions();
    expect(record.calls).toEqual(["revokeAllSessions"]);
    expect(record.signedOut).toBe(1);
  });

  it("stays signed in when signing out everywhere did not reach the API", async () => {
    const { flow, record } = scripted({ failWith: new TransportError("timeout", "timeout") });
    await flow.revokeAllSessions();
    expect(record.signedOut).toBe(0);
    expect(record.reports).toEqual(["网络请求超时，请稍后重试"]);
  });

  it("runs one action at a time", async () => {
    const gate = deferred<void>();
    const { flow, record } = scripted({ gate: gate.promise });
    const first = flow.revokeSession("s1");
    await flow.revokeSession("s1");
    await flow.revokeAllSessions();
    expect(flow.pending.value).toBe("revoking");
    gate.resolve();
    await first;
    expect(record.calls).toEqual(["revokeSession s1"]);
    expect(flow.pending.value).toBeNull();
  });

  it("asks before deleting, saying what goes and when, and does nothing when declined", async () => {
    const { flow, record } = scripted({ confirm: false });
    await flow.deleteAccount();
    expect(record.dialogs).toEqual([
      { title: "注销账号", content: DELETION_WARNING, confirmText: "注销" },
    ]);
    expect(DELETION_WARNING).toContain("手机号");
    expect(DELETION_WARNING).toContain("头像");
    expect(DELETION_WARNING).toContain("7 天");
    expect(record.calls).toEqual([]);
    expect(record.signedOut).toBe(0);
  });

  it("schedules the deletion, says when it happens, then leaves as a guest", async () => {
    const { flow, record } = scripted();
    await flow.deleteAccount();
    expect(record.calls).toEqual(["requestDeletion"]);
    const told = record.dialogs[1];
    expect(told?.title).toBe("已申请注销");
    const scheduled = new Date("2026-12-11T08:00:00.000Z");
    expect(told?.content).toContain(`${scheduled.getMonth() + 1}月${scheduled.getDate()}日`);
    expect(told?.content).toContain("重新登录");
    expect(record.signedOut).toBe(1);
  });

  it("says the account is gone when the API deleted it at once", async () => {
    const { flow, record } = scripted({
      deletion: { deletionScheduledAt: new Date(NOW).toISOString() },
    });
    await flow.deleteAccount();
    expect(record.dialogs[1]?.title).toBe("账号已注销");
    expect(record.signedOut).toBe(1);
  });

  it("stays signed in when the deletion request fails", async () => {
    const { flow, record } = scripted({ deletion: apiError("SERVICE_UNAVAILABLE") });
    await flow.deleteAccount();
    expect(record.signedOut).toBe(0);
    expect(record.reports).toEqual(["服务暂时不可用，请稍后再试"]);
  });

  it("cancels a scheduled deletion and shows the user as the API returns it", async () => {
    const { flow, record } = scripted();
    await flow.cancelDeletion();
    expect(record.calls).toEqual(["cancelDeletion"]);
    expect(record.users).toEqual([{ ...user, deletionScheduledAt: null }]);
    expect(record.reports).toEqual(["已撤销注销，账号将继续保留"]);
  });
});
