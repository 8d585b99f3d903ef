import {
  TokenPairSchema,
  UserSchema,
  type AuthenticatedSession,
  type TokenPair,
  type User,
} from "@wxauth/contracts";
import { defineStore } from "pinia";
import { computed, ref, toRaw } from "vue";
import * as z from "zod/mini";

export const SESSION_STORAGE_KEY = "wxauth.session";

/** What survives a restart: the tokens and the last known user, as the API sent them. */
const PersistedSessionSchema = z.object({
  accessToken: TokenPairSchema.shape.accessToken,
  refreshToken: TokenPairSchema.shape.refreshToken,
  user: UserSchema,
});
type PersistedSession = z.infer<typeof PersistedSessionSchema>;

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

function readPersisted(): PersistedSession | null {
  const stored: unknown = uni.getStorageSync(SESSION_STORAGE_KEY);
  if (!stored) return null;
  const parsed = PersistedSessionSchema.safeParse(withDeletionField(stored));
  if (parsed.success) return parsed.data;
  // Written by an older build or tampered with: start signed out rather than half signed in.
  uni.removeStorageSync(SESSION_STORAGE_KEY);
  return null;
}

export const useAuthStore = defineStore("auth", () => {
  const persisted = readPersisted();
  const accessToken = ref<string | null>(persisted?.accessToken ?? null);
  const refreshToken = ref<string | null>(persisted?.refreshToken ?? null);
  const user = ref<User | null>(persisted?.user ?? null);

  const isSignedIn = computed(() => refreshToken.value !== null && user.value !== null);

  function persist(): void {
    if (accessToken.value === null || refreshToken.value === null || user.value === null) {
      uni.removeStorageSync(SESSION_STORAGE_KEY);
      return;
    }
    const session: PersistedSession = {
      accessToken: accessToken.value,
      refreshToken: refreshToken.value,
      user: toRaw(user.value),
    };
    uni.setStorageSync(SESSION_STORAGE_KEY, session);
  }

  function startSession(session: AuthenticatedSession): void {
    accessToken.value = session.accessToken;
    refreshToken.value = session.refreshToken;
    user.value = session.user;
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
    startSession,
    updateTokens,
    updateUser,
    clear,
  };
});
