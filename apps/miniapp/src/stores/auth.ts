import {
  TokenPairSchema,
  UserSchema,
  type Authenticated,
  type TokenPair,
  type User,
} from "@wxauth/contracts";
import { defineStore } from "pinia";
import { computed, ref, toRaw } from "vue";
import * as z from "zod/mini";

export const CREDENTIALS_STORAGE_KEY = "wxauth.credentials";
/** Where builds before the word "credentials" kept them; moved once, so nobody is signed out. */
export const OLD_CREDENTIALS_STORAGE_KEY = "wxauth.session";

/**
 * The credentials: what survives a restart, the tokens and the last known user, as the API sent
 * them.
 */
const StoredCredentialsSchema = z.object({
  accessToken: TokenPairSchema.shape.accessToken,
  refreshToken: TokenPairSchema.shape.refreshToken,
  user: UserSchema,
});
type StoredCredentials = z.infer<typeof StoredCredentialsSchema>;

/**
 * Builds before account deletion stored users without deletionScheduledAt; they stay signed in.
 * Plain code rather than zod's extend and default, which would add their code to the package.
 */
function withDeletionField(stored: unknown): unknown {
  if (typeof stored !== "object" || stored === null) return stored;
  const { user } = stored as { user?: unknown };
  if (typeof user !== "object" || user === null || "deletionScheduledAt" in user) return stored;
  return { ...stored, user: { ...user, deletionScheduledAt: null } };
}

function readStoredCredentials(): StoredCredentials | null {
  const old: unknown = uni.getStorageSync(OLD_CREDENTIALS_STORAGE_KEY);
  if (old) {
    uni.setStorageSync(CREDENTIALS_STORAGE_KEY, old);
    uni.removeStorageSync(OLD_CREDENTIALS_STORAGE_KEY);
  }
  const stored: unknown = uni.getStorageSync(CREDENTIALS_STORAGE_KEY);
  if (!stored) return null;
  const parsed = StoredCredentialsSchema.safeParse(withDeletionField(stored));
  if (parsed.success) return parsed.data;
  // Written by an older build or tampered with: start signed out rather than half signed in.
  uni.removeStorageSync(CREDENTIALS_STORAGE_KEY);
  return null;
}

export const useAuthStore = defineStore("auth", () => {
  const stored = readStoredCredentials();
  const accessToken = ref<string | null>(stored?.accessToken ?? null);
  const refreshToken = ref<string | null>(stored?.refreshToken ?? null);
  const user = ref<User | null>(stored?.user ?? null);

  const isSignedIn = computed(() => refreshToken.value !== null && user.value !== null);

  function persist(): void {
    if (accessToken.value === null || refreshToken.value === null || user.value === null) {
      uni.removeStorageSync(CREDENTIALS_STORAGE_KEY);
      return;
    }
    const credentials: StoredCredentials = {
      accessToken: accessToken.value,
      refreshToken: refreshToken.value,
      user: toRaw(user.value),
    };
    uni.setStorageSync(CREDENTIALS_STORAGE_KEY, credentials);
  }

  /** Keeps the credentials of a sign-in: its tokens and user. */
  function saveCredentials(authenticated: Authenticated): void {
    accessToken.value = authenticated.accessToken;
    refreshToken.value = authenticated.refreshToken;
    user.value = authenticated.user;
    persist();
  }

  function updateTokens(tokens: TokenPair): void {
    accessToken.value = tokens.accessToken;
    refreshToken.value = tokens.refreshToken;
    persist();
  }

  function updateUser(next: User): void {
    user.value = next;
    persist();
  }

  function clear(): void {
    accessToken.value = null;
    refreshToken.value = null;
    user.value = null;
    persist();
  }

  return {
    accessToken,
    refreshToken,
    user,
    isSignedIn,
    saveCredentials,
    updateTokens,
    updateUser,
    clear,
  };
});
