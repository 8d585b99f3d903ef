import { createPinia, setActivePinia } from "pinia";
import { beforeEach, describe, expect, it } from "vitest";
import { SESSION_STORAGE_KEY, useAuthStore } from "./auth";
import { installFakeUni, type FakeUni } from "../testing/fake-uni";
import { session, user } from "../testing/fixtures";

/** A new pinia over the same storage: what a restart of the mini program looks like. */
function relaunch() {
  setActivePinia(createPinia());
  return useAuthStore();
}

describe("auth store", () => {
  let uni: FakeUni;
  beforeEach(() => {
    uni = installFakeUni();
  });

  it("starts signed out when nothing is stored", () => {
    const auth = relaunch();
    expect(auth.isSignedIn).toBe(false);
    expect(auth.accessToken).toBeNull();
    expect(auth.user).toBeNull();
  });

  it("persists a new session and restores it at the next launch", () => {
    relaunch().startSession(session());
    expect(uni.storage.has(SESSION_STORAGE_KEY)).toBe(true);

    const restored = relaunch();
    expect(restored.isSignedIn).toBe(true);
    expect(restored.accessToken).toBe("access-token-1");
    expect(restored.refreshToken).toBe("refresh-token-0000-1");
    expect(restored.user).toEqual(user);
  });

  it("persists rotated tokens and user changes", () => {
    const auth = relaunch();
    auth.startSession(session(1));
    auth.updateTokens({
      accessToken: "access-token-2",
      refreshToken: "refresh-token-0000-2",
      expiresIn: 900,
    });
    auth.updateUser({ ...user, nickname: "小明" });

    const restored = relaunch();
    expect(restored.accessToken).toBe("access-token-2");
    expect(restored.refreshToken).toBe("refresh-token-0000-2");
    expect(restored.user?.nickname).toBe("小明");
  });

  it("forgets the session on clear, in memory and in storage", () => {
    const auth = relaunch();
    auth.startSession(session());
    auth.clear();
    expect(auth.isSignedIn).toBe(false);
    expect(uni.storage.has(SESSION_STORAGE_KEY)).toBe(false);
    expect(relaunch().isSignedIn).toBe(false);
  });

  it("keeps a session stored before users had deletionScheduledAt", () => {
    const { deletionScheduledAt: _absent, ...olderUser } = user;
    uni.storage.set(SESSION_STORAGE_KEY, { ...session(), user: olderUser });
    const auth = relaunch();
    expect(auth.isSignedIn).toBe(true);
    expect(auth.user).toEqual({ ...olderUser, deletionScheduledAt: null });
  });

  it("starts signed out and drops a stored session that does not match the contract", () => {
    uni.storage.set(SESSION_STORAGE_KEY, { accessToken: "a", refreshToken: "r", user: { id: 1 } });
    const auth = relaunch();
    expect(auth.isSignedIn).toBe(false);
    expect(uni.storage.has(SESSION_STORAGE_KEY)).toBe(false);
  });
});
