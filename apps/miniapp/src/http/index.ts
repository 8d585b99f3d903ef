import { useAuthStore } from "../stores/auth";
import { informDialog } from "../account/dialogs";
import { apiErrorMessage } from "../errors/messages";
import { reLaunchToHome, reLaunchToLogin } from "../navigation";
import { createHttpClient } from "./client";
import { uniSend } from "./uni-send";
import { uniUpload } from "./uni-upload";

export { ApiError, TransportError, type TransportFailure } from "./errors";
export type { HttpClient } from "./client";

export const API_BASE_URL = import.meta.env.VITE_API_BASE_URL || "http://localhost:3000";

/** Several requests refused at once tell the user once. */
let tellingDisabled = false;

export const http = createHttpClient({
  baseUrl: API_BASE_URL,
  send: uniSend,
  sendFile: uniUpload,
  session: {
    accessToken: () => useAuthStore().accessToken,
    refreshToken: () => useAuthStore().refreshToken,
    refreshed: (tokens) => useAuthStore().updateTokens(tokens),
    lost: () => {
      useAuthStore().clear();
      reLaunchToLogin();
    },
    // Home as a guest: the login page would only be refused again.
    disabled: () => {
      useAuthStore().clear();
      if (tellingDisabled) return;
      tellingDisabled = true;
      reLaunchToHome();
      void informDialog({ title: "", content: apiErrorMessage("ACCOUNT_DISABLED") }).then(
        () => (tellingDisabled = false),
      );
    },
  },
});
