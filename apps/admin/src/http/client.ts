import {
  AdminErrorBodySchema,
  CSRF_TOKEN_HEADER,
  adminContract,
  type AdminErrorBody,
  type AdminErrorCode,
  type AdminPathParameters,
  type AdminQuery,
  type AdminRequestBody,
  type AdminRouteDefinition,
  type AdminRouteName,
  type AdminSuccessBody,
} from "@wxauth/contracts/admin";
import { successOf } from "@wxauth/contracts";

/** The API answered with a contract error body. */
export class AdminApiError extends Error {
  override readonly name = "AdminApiError";
  readonly code: AdminErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly requestId: string;

  constructor(status: number, body: AdminErrorBody["error"]) {
    super(body.message);
    this.code = body.code;
    this.status = status;
    this.retryable = body.retryable;
    this.requestId = body.requestId;
  }
}

/** No usable answer: the network failed, or the answer is not the contract's. */
export class TransportError extends Error {
  override readonly name = "TransportError";
  constructor(
    readonly failure: "network" | "invalid_response",
    detail: string,
  ) {
    super(`${failure}: ${detail}`);
  }
}

type Defined<T> = T extends undefined ? never : T;

/** What a route takes besides its name: path parameters, query and body, each only if it has one. */
export type CallInput<K extends AdminRouteName> = (AdminPathParameters<K> extends undefined
  ? unknown
  : { params: Defined<AdminPathParameters<K>> }) &
  (AdminQuery<K> extends undefined ? unknown : { query?: Defined<AdminQuery<K>> }) &
  (AdminRequestBody<K> extends undefined ? unknown : { body: Defined<AdminRequestBody<K>> });

type CallArguments<K extends AdminRouteName> =
  object extends CallInput<K> ? [input?: CallInput<K>] : [input: CallInput<K>];

export interface AdminClientOptions {
  /** The API's origin; "" (the default) is the console's own, where the cookie belongs. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** The session's CSRF token, sent as X-CSRF-Token on every route that changes something. */
  csrfToken: () => string | null;
  /** The session is gone (OPERATOR_UNAUTHENTICATED): the console goes to sign-in. */
  onUnauthenticated: () => void;
  /** The one-time password must be changed first (PASSWORD_CHANGE_REQUIRED). */
  onPasswordChangeRequired: () => void;
}

export interface AdminClient {
  call<K extends AdminRouteName>(name: K, ...input: CallArguments<K>): Promise<AdminSuccessBody<K>>;
}

/** `/api/admin/users/:userId` with `{ userId: "u 1" }` → `/api/admin/users/u%201`. */
export function pathOf(path: string, params: Record<string, string> = {}): string {
  return path.replace(/:(\w+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`missing path parameter ${name} of ${path}`);
    return encodeURIComponent(value);
  });
}

function queryStringOf(query: Record<string, unknown> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * The one fetch wrapper of the console. It sends the operator's cookie (same origin), the CSRF
 * token on the routes that change something, and JSON bodies; it validates every answer with the
 * contract's schema, turns error bodies into AdminApiError and tells the console when the session
 * is gone or the password must be changed first.
 */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  const send = options.fetch ?? ((...args: Parameters<typeof fetch>) => fetch(...args));
  const baseUrl = options.baseUrl ?? "";

  async function call<K extends AdminRouteName>(
    name: K,
    ...[input]: CallArguments<K>
  ): Promise<AdminSuccessBody<K>> {
    const route: AdminRouteDefinition = adminContract[name];
    const { params, query, body } = (input ?? {}) as {
      params?: Record<string, string>;
      query?: Record<string, unknown>;
      body?: unknown;
    };
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (route.csrf) {
      const token = options.csrfToken();
      if (token) headers[CSRF_TOKEN_HEADER] = token;
    }
    const url = `${baseUrl}${pathOf(route.path, params)}${queryStringOf(query)}`;
    let response: Response;
    try {
      response = await send(url, {
        method: route.method,
        headers,
        credentials: "same-origin",
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (error) {
      throw new TransportError("network", error instanceof Error ? error.message : String(error));
    }
    if (!response.ok) throw await errorOf(response);
    const { status, schema } = successOf(route);
    if (response.status !== status) {
      throw new TransportError("invalid_response", `${route.path}: HTTP ${response.status}`);
    }
    if (!schema) return undefined as AdminSuccessBody<K>;
    const parsed = schema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) {
      throw new TransportError("invalid_response", `${route.path}: ${parsed.error.message}`);
    }
    return parsed.data as AdminSuccessBody<K>;
  }

  async function errorOf(response: Response): Promise<Error> {
    const parsed = AdminErrorBodySchema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) return new TransportError("invalid_response", `HTTP ${response.status}`);
    const error = new AdminApiError(response.status, parsed.data.error);
    if (error.code === "OPERATOR_UNAUTHENTICATED") options.onUnauthenticated();
    if (error.code === "PASSWORD_CHANGE_REQUIRED") options.onPasswordChangeRequired();
    return error;
  }

  return { call };
}
