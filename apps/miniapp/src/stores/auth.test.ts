import { createPinia, setActivePinia } from "pinia";
import { beforeEach, describe, expect, it } from "vitest";
import { CREDENTIALS_STORAGE_KEY, OLD_CREDENTIALS_STORAGE_KEY, useAuthStore } from "./auth";
import { installFakeUni, type FakeUni } from "../testing/fake-uni";
import { authenticated, user } from "../testing/fixtures";

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

  it("keeps a new sign-in's credentials and restores them at the next launch", () => {
    relaunch().saveCredentials(authenticated());
    expect(uni.storage.has(CREDENTIALS_STORAGE_KEY)).toBe(true);

    const restored = relaunch();
    expect(restored.isSignedIn).toBe(true);
    expect(restored.accessToken).toBe("access-token-1");
    expect(restored.refreshToken).toBe("refresh-token-0000-1");
    expect(restored.user).toEqual(user);
  });

  it("persists rotated tokens and user changes", () => {
    const auth = relaunch();
    auth.saveCredentials(authenticated(1));
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

  it("forgets the credentials on clear, in memory and in storage", () => {
    const auth = relaunch();
    auth.saveCredentials(authenticated());
    auth.clear();
    expect(auth.isSignedIn).toBe(false);
    expect(uni.storage.has(CREDENTIALS_STORAGE_KEY)).toBe(false);
    expect(relaunch().isSignedIn).toBe(false);
  });

  it("keeps credentials stored before users had deletionScheduledAt", () => {
    const { deletionScheduledAt: _absent, ...olderUser } = user;
    uni.storage.set(CREDENTIALS_STORAGE_KEY, { ...authenticated(), user: olderUser });
    const auth = relaunch();
    expect(auth.isSignedIn).toBe(true);
    expect(auth.user).toEqual({ ...olderUser, deletionScheduledAt: null });
  });

  it("starts signed out and drops stored credentials that do not match the contract", () => {
    uni.storage.set(CREDENTIALS_STORAGE_KEY, {
      accessToken: "a",
      refreshToken: "r",
      user: { id: 1 },
    });
    const auth = relaunch();
    expect(auth.isSignedIn).toBe(false);
    expect(uni.storage.has(CREDENTIALS_STORAGE_KEY)).toBe(false);
  });

  it("moves credentials from the storage key of older builds, once: nobody is signed out", () => {
    const { status: _status, expiresIn: _expiresIn, ...stored } = authenticated();
    uni.storage.set(OLD_CREDENTIALS_STORAGE_KEY, stored);
    const auth = relaunch();
    expect(auth.isSignedIn).toBe(true);
    expect(auth.refreshToken).toBe("refresh-token-0000-1");
    expect(uni.storage.has(OLD_CREDENTIALS_STORAGE_KEY)).toBe(false);
    expect(uni.storage.get(CREDENTIALS_STORAGE_KEY)).toEqual(stored);

    auth.updateTokens({
      accessToken: "access-token-2",
      refreshToken: "refresh-token-0000-2",
      expiresIn: 900,
    });
    expect(relaunch().refreshToken).toBe("refresh-token-0000-2");
  });
});
