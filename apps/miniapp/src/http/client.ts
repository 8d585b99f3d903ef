import {
  contract,
  ErrorBodySchema,
  successOf,
  type HttpMethod,
  type RequestBody,
  type RouteDefinition,
  type RouteName,
  type SuccessBody,
  type TokenPair,
} from "@wxauth/contracts";
import { ApiError, TransportError } from "./errors";

export interface HttpRequest {
  url: string;
  method: HttpMethod;
  header: Record<string, string>;
  data?: unknown;
}

export interface HttpResponse {
  statusCode: number;
  data: unknown;
}

/** Sends one request; rejects with a TransportError when no answer arrives. */
export type Send = (request: HttpRequest) => Promise<HttpResponse>;

/** What the client needs from the session it authenticates with. */
export interface SessionPort {
  accessToken(): string | null;
  refreshToken(): string | null;
  /** A refresh rotated the tokens. */
  refreshed(tokens: TokenPair): void;
  /** The refresh token was refused: the session is over. */
  lost(): void;
}

export interface HttpClientOptions {
  baseUrl: string;
  send: Send;
  session: SessionPort;
}

export interface HttpClient {
  call<K extends RouteName>(name: K, body: RequestBody<K>): Promise<SuccessBody<K>>;
}

function parseResponse(route: RouteDefinition, response: HttpResponse): unknown {
  const success = successOf(route);
  if (response.statusCode === success.status) {
    if (success.schema === null) return undefined;
    const parsed = success.schema.safeParse(response.data);
    if (!parsed.success) {
      throw new TransportError(
        "invalid_response",
        `${route.method} ${route.path}: ${parsed.error.message}`,
      );
    }
    return parsed.data;
  }
  const errorBody = ErrorBodySchema.safeParse(response.data);
  if (errorBody.success) throw new ApiError(response.statusCode, errorBody.data.error);
  throw new TransportError(
    "invalid_response",
    `${route.method} ${route.path}: HTTP ${response.statusCode} without a contract error body`,
  );
}

/**
 * The one client of the API. Authenticated routes carry the access token; when the API answers
 * 401 UNAUTHORIZED, exactly one refresh runs, requests that arrive meanwhile wait for it, and every
 * request that was refused is replayed once with the new token.
 */
export function createHttpClient({ baseUrl, send, session }: HttpClientOptions): HttpClient {
  const origin = baseUrl.replace(/\/+$/, "");
  let refreshInFlight: Promise<void> | null = null;

  async function sendRoute<K extends RouteName>(
    name: K,
    body: RequestBody<K>,
    accessToken: string | null,
  ): Promise<SuccessBody<K>> {
    const route: RouteDefinition = contract[name];
    const header: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) header["content-type"] = "application/json";
    if (accessToken) header.authorization = `Bearer ${accessToken}`;
    const response = await send({
      url: origin + route.path,
      method: route.method,
      header,
      ...(body !== undefined ? { data: body } : {}),
    });
    return parseResponse(route, response) as SuccessBody<K>;
  }

  function refreshTokens(): Promise<void> {
    refreshInFlight ??= (async () => {
      const refreshToken = session.refreshToken();
      try {
        if (!refreshToken) {
          throw new ApiError(401, {
            code: "UNAUTHORIZED",
            message: "no refresh token",
            retryable: false,
            requestId: "",
          });
        }
        session.refreshed(await sendRoute("refreshSession", { refreshToken }, null));
      } catch (error) {
        // A network blip or a retryable answer (rate limit, 503) keeps the session for a retry;
        // only a refused refresh token ends it.
        if (error instanceof ApiError && !error.retryable) session.lost();
        throw error;
      }
    })().finally(() => {
      refreshInFlight = null;
    });
    return refreshInFlight;
  }

  async function call<K extends RouteName>(name: K, body: RequestBody<K>): Promise<SuccessBody<K>> {
    if (!contract[name].auth) return sendRoute(name, body, null);
    if (refreshInFlight) await refreshInFlight;
    const accessToken = session.accessToken();
    try {
      return await sendRoute(name, body, accessToken);
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== "UNAUTHORIZED") throw error;
      // Refused with a token another request has already replaced: just replay with the new one.
      if (session.accessToken() === accessToken) await refreshTokens();
      else if (refreshInFlight) await refreshInFlight;
      return sendRoute(name, body, session.accessToken());
    }
  }

  return { call };
}
