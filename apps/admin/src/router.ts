import { createRouter, createWebHistory, type RouteLocationNormalized } from "vue-router";
import { api } from "./api";
import { endSession, session, startSession } from "./session";

export const router = createRouter({
  // "/admin/" in the build, where the API serves the console; "/" under `vite` in development.
  history: createWebHistory(import.meta.env.BASE_URL),
  routes: [
    { path: "/", redirect: "/users" },
    { path: "/sign-in", name: "sign-in", component: () => import("./pages/SignInPage.vue") },
    { path: "/password", name: "password", component: () => import("./pages/PasswordPage.vue") },
    { path: "/users", name: "users", component: () => import("./pages/UsersPage.vue") },
    { path: "/users/:userId", name: "user", component: () => import("./pages/UserPage.vue") },
    {
      path: "/deletions",
      name: "deletions",
      component: () => import("./pages/DeletionsPage.vue"),
    },
    { path: "/spend", name: "spend", component: () => import("./pages/SpendPage.vue") },
    { path: "/audit", name: "audit", component: () => import("./pages/AuditPage.vue") },
    { path: "/:rest(.*)*", redirect: "/users" },
  ],
});

/** Where a signed-out operator goes: sign-in, coming back here afterwards. */
export function signInRoute(from: RouteLocationNormalized) {
  const back = from.name === "sign-in" || from.name === "password" ? undefined : from.fullPath;
  return { name: "sign-in", query: back ? { redirect: back } : {} };
}

router.beforeEach(async (to) => {
  if (!session.known) {
    // A reload: the cookie may still hold a session; ask who it belongs to.
    try {
      startSession(await api.call("getOperatorSession"));
    } catch {
      // No session (OPERATOR_UNAUTHENTICATED), or no API: either way, the sign-in page says so.
      endSession();
    }
  }
  if (to.name === "sign-in") return session.operator ? { name: "users" } : true;
  if (!session.operator) return signInRoute(to);
  if (session.passwordChangeRequired) return to.name === "password" ? true : { name: "password" };
  return true;
});
