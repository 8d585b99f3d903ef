import {
  contract,
  ErrorBodySchema,
  successOf,
  type Contract,
  type FileUpload,
  type HttpMethod,
  type PathParameters,
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

/** A local file sent as multipart/form-data, the way `uni.uploadFile` sends it. */
export interface FileRequest {
  url: string;
  header: Record<string, string>;
  /** A temp path from chooseAvatar or chooseImage (`wxfile://…`, `http://tmp/…`, `blob:…`). */
  filePath: string;
  /** The form field the route reads the file from. */
  field: string;
}

/** Uploads one file; rejects with a TransportError when no answer arrives. */
export type SendFile = (request: FileRequest) => Promise<HttpResponse>;

/** What the client needs from the credentials it authenticates with. */
export interface CredentialsPort {
  accessToken(): string | null;
  refreshToken(): string | null;
  /** A refresh rotated the tokens. */
  refreshed(tokens: TokenPair): void;
  /** The refresh token was refused, or the account is banned (`disabled`): the session is over. */
  lost(disabled?: boolean): void;
}

export interface HttpClientOptions {
  baseUrl: string;
  send: Send;
  sendFile: SendFile;
  credentials: CredentialsPort;
}

/** The routes whose body is a file upload rather than JSON. */
export type UploadRouteName = {
  [K in RouteName]: Contract[K] extends { upload: FileUpload } ? K : never;
}[RouteName];

/** The path parameters a route's call takes: none, or one object naming each of them. */
type PathArguments<K extends RouteName> =
  PathParameters<K> extends undefined ? [] : [parameters: PathParameters<K>];

export interface HttpClient {
  call<K extends RouteName>(
    name: K,
    body: RequestBody<K>,
    ...path: PathArguments<K>
  ): Promise<SuccessBody<K>>;
  /** Uploads the local file at `filePath` to a route that takes one. */
  upload<K extends UploadRouteName>(name: K, filePath: string): Promise<SuccessBody<K>>;
}

/** What a request carries: a JSON body (or none), or a local file. */
type Payload = { body: unknown } | { filePath: string };

/** `/api/me/sessions/:sessionId` with `{ sessionId: "s 1" }` is `/api/me/sessions/s%201`. */
function pathWith(path: string, parameters: Record<string, string> | undefined): string {
  return path.replace(/:(\w+)/g, (_, name: string) => {
    const value = parameters?.[name];
    if (value === undefined) throw new Error(`${path}: no value for :${name}`);
    return encodeURIComponent(value);
  });
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
 * request that was refused is replayed once with the new token. JSON requests and file uploads go
 * through the same token handling; only the transport differs.
 */
export function createHttpClient({
  baseUrl,
  send,
  sendFile,
  credentials,
}: HttpClientOptions): HttpClient {
  const origin = baseUrl.replace(/\/+$/, "");
  let refreshInFlight: Promise<void> | null = null;

  async function sendRoute(
    route: RouteDefinition,
    payload: Payload,
    accessToken: string | null,
    parameters?: Record<string, string>,
  ): Promise<unknown> {
    const url = origin + pathWith(route.path, parameters);
    const header: Record<string, string> = { accept: "application/json" };
    if (accessToken) header.authorization = `Bearer ${accessToken}`;
    let response: HttpResponse;
    if ("filePath" in payload) {
      if (!route.upload) throw new Error(`${route.method} ${route.path} takes no file`);
      // The transport sets the multipart content type and its boundary.
      response = await sendFile({
        url,
        header,
        filePath: payload.filePath,
        field: route.upload.field,
      });
    } else {
      if (payload.body !== undefined) header["content-type"] = "application/json";
      response = await send({
        url,
        method: route.method,
        header,
        ...(payload.body !== undefined ? { data: payload.body } : {}),
      });
    }
    return parseResponse(route, response);
  }

  function refreshTokens(): Promise<void> {
    refreshInFlight ??= (async () => {
      const refreshToken = credentials.refreshToken();
      try {
        if (!refreshToken) {
          throw new ApiError(401, {
            code: "UNAUTHORIZED",
            message: "no refresh token",
            retryable: false,
            requestId: "",
          });
        }
        const tokens = await sendRoute(contract.refreshSession, { body: { refreshToken } }, null);
        credentials.refreshed(tokens as TokenPair);
      } catch (error) {
        // A network blip or a retryable answer (rate limit, 503) keeps the credentials for a retry;
        // only a refused refresh token (or a ban) ends them.
        if (error instanceof ApiError && !error.retryable) {
          credentials.lost(error.code === "ACCOUNT_DISABLED");
        }
        throw error;
      }
    })().finally(() => {
      refreshInFlight = null;
    });
    return refreshInFlight;
  }

  async function exchange(
    route: RouteDefinition,
    payload: Payload,
    parameters?: Record<string, string>,
  ): Promise<unknown> {
    if (!route.auth) return sendRoute(route, payload, null, parameters);
    if (refreshInFlight) await refreshInFlight;
    const accessToken = credentials.accessToken();
    try {
      return await sendRoute(route, payload, accessToken, parameters);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // A ban (403 ACCOUNT_DISABLED) ends the session at once, whichever request meets it first.
      if (error.code === "ACCOUNT_DISABLED") credentials.lost(true);
      if (error.code !== "UNAUTHORIZED") throw error;
      // Refused with a token another request has already replaced: just replay with the new one.
      if (credentials.accessToken() === accessToken) await refreshTokens();
      else if (refreshInFlight) await refreshInFlight;
      return sendRoute(route, payload, credentials.accessToken(), parameters);
    }
  }

  return {
    call: async <K extends RouteName>(name: K, body: RequestBody<K>, ...path: PathArguments<K>) =>
      (await exchange(contract[name], { body }, path[0])) as SuccessBody<K>,
    upload: async <K extends UploadRouteName>(name: K, filePath: string) =>
      (await exchange(contract[name], { filePath })) as SuccessBody<K>,
  };
}
