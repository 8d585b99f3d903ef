import type { Operator, OperatorSession } from "@wxauth/contracts/admin";
import { reactive } from "vue";

/**
 * The operator's side of the cookie session: who is signed in, the CSRF token changing requests
 * carry, and whether the one-time password must be changed first. The cookie itself is HttpOnly;
 * this is only what the sign-in answer told the console. `known` is false until the console has
 * asked the API once (a reload keeps the cookie but loses this).
 */
export const session = reactive<{
  known: boolean;
  operator: Operator | null;
  csrfToken: string | null;
  passwordChangeRequired: boolean;
}>({ known: false, operator: null, csrfToken: null, passwordChangeRequired: false });

export function startSession(answer: OperatorSession): void {
  session.known = true;
  session.operator = answer.operator;
  session.csrfToken = answer.csrfToken;
  session.passwordChangeRequired = answer.passwordChangeRequired;
}

export function endSession(): void {
  session.known = true;
  session.operator = null;
  session.csrfToken = null;
  session.passwordChangeRequired = false;
}

export function isAdmin(): boolean {
  return session.operator?.role === "admin";
}
