/*
 * Operators in tests: created through the same service operator:create uses, signed in over
 * HTTP like the console, with the cookie and CSRF token kept for the requests that follow.
 */
import {
  CSRF_TOKEN_HEADER,
  OPERATOR_SESSION_COOKIE,
  OperatorSessionSchema,
  type OperatorRole,
  type OperatorSession,
} from "@wxauth/contracts/admin";
import type { HttpResult, TestApi } from "./harness.js";

let operatorCounter = 0;

export interface TestOperator {
  name: string;
  password: string;
  /** `wxauth_operator=<token>`, as the browser sends it back. */
  cookie: string;
  session: OperatorSession;
  /** A request with the cookie, and the CSRF header unless `csrf: false`. */
  request(
    method: string,
    path: string,
    options?: { body?: unknown; csrf?: boolean; headers?: Record<string, string> },
  ): Promise<HttpResult>;
}

/** The session cookie a Set-Cookie header carries, as `name=value`. */
export function sessionCookieOf(result: HttpResult): string {
  const setCookie = result.headers["set-cookie"] ?? [];
  const cookie = setCookie.find((line) => line.startsWith(`${OPERATOR_SESSION_COOKIE}=`));
  if (!cookie)
    throw new Error(`no ${OPERATOR_SESSION_COOKIE} cookie in ${result.status} ${result.text}`);
  return cookie.split(";")[0]!;
}

export function signInRequest(api: TestApi, name: string, password: string) {
  return api.request("POST", "/api/admin/session", { body: { name, password } });
}

/** Signs in; throws unless it works. */
export async function signIn(api: TestApi, name: string, password: string): Promise<TestOperator> {
  const result = await signInRequest(api, name, password);
  if (result.status !== 200) throw new Error(`sign-in: ${result.status} ${result.text}`);
  const cookie = sessionCookieOf(result);
  const session = OperatorSessionSchema.parse(result.body);
  return {
    name,
    password,
    cookie,
    session,
    request: (method, path, { body, csrf = true, headers } = {}) =>
      api.request(method, path, {
        body,
        headers: {
          cookie,
          ...(csrf ? { [CSRF_TOKEN_HEADER]: session.csrfToken } : {}),
          ...headers,
        },
      }),
  };
}

/** A new operator as operator:create makes it; resolves its one-time password. */
export async function createOperator(
  api: TestApi,
  role: OperatorRole,
  name = `op-${process.pid}-${++operatorCounter}`,
): Promise<{ name: string; password: string }> {
  return { name, password: await api.deps.operators.create(name, role) };
}

/** A new operator, signed in, its one-time password already replaced (unless told otherwise). */
export async function signedInOperator(
  api: TestApi,
  role: OperatorRole,
  { changePassword = true } = {},
): Promise<TestOperator> {
  const { name, password } = await createOperator(api, role);
  const operator = await signIn(api, name, password);
  if (!changePassword) return operator;
  const newPassword = `${password}-changed-for-tests`;
  const changed = await operator.request("POST", "/api/admin/password", {
    body: { currentPassword: password, newPassword },
  });
  if (changed.status !== 200) throw new Error(`password: ${changed.status} ${changed.text}`);
  return { ...operator, password: newPassword, session: OperatorSessionSchema.parse(changed.body) };
}
