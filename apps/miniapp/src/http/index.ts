import { useAuthStore } from "../stores/auth";
import { apiErrorMessage } from "../errors/messages";
import { reLaunchToHome, reLaunchToLogin } from "../navigation";
import { createHttpClient } from "./client";
import { uniSend } from "./uni-send";
import { uniUpload } from "./uni-upload";

export { ApiError, TransportError, type TransportFailure } from "./errors";
export type { HttpClient } from "./client";

export const API_BASE_URL = import.meta.env.VITE_API_BASE_URL || "http://localhost:3000";

export const http = createHttpClient({
  baseUrl: API_BASE_URL,
  send: uniSend,
  sendFile: uniUpload,
  credentials: {
    accessToken: () => useAuthStore().accessToken,
    refreshToken: () => useAuthStore().refreshToken,
    refreshed: (tokens) => useAuthStore().updateTokens(tokens),
    lost: (disabled) => {
      const auth = useAuthStore();
      // Several requests refused by one ban tell the user once.
      if (disabled && !auth.isSignedIn) return;
      auth.clear();
      if (!disabled) return reLaunchToLogin();
      // Home as a guest: the login page would only be refused again.
      reLaunchToHome();
      uni.showModal({ content: apiErrorMessage("ACCOUNT_DISABLED"), showCancel: false });
    },
  },
});
