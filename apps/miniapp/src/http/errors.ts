import type { ErrorBody, ErrorCode } from "@wxauth/contracts";

/** The API answered with a contract error body. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly requestId: string;

  constructor(status: number, body: ErrorBody["error"]) {
    super(body.message);
    this.code = body.code;
    this.status = status;
    this.retryable = body.retryable;
    this.requestId = body.requestId;
  }
}

export type TransportFailure =
  /** No answer: offline, DNS, refused connection, TLS or domain-whitelist failures. */
  | "network"
  | "timeout"
  /** An answer that is not the contract's (a proxy's HTML error page, a schema mismatch). */
  | "invalid_response";

/** The request got no usable answer from the API. */
export class TransportError extends Error {
  override readonly name = "TransportError";
  readonly failure: TransportFailure;

  constructor(failure: TransportFailure, detail: string) {
    super(`${failure}: ${detail}`);
    this.failure = failure;
  }
}
