import { createAdminClient } from "./http/client";
import { endSession, session } from "./session";

/**
 * The console's client of the /api/admin routes. A lost session clears the operator, and the app
 * (App.vue) then shows the sign-in page; a required password change shows the password page.
 */
export const api = createAdminClient({
  csrfToken: () => session.csrfToken,
  onUnauthenticated: endSession,
  onPasswordChangeRequired: () => {
    session.passwordChangeRequired = true;
  },
});
