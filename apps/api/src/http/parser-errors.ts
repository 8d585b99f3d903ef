import { randomUUID } from "node:crypto";
import { STATUS_CODES, type Server } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { AppError } from "../errors.js";
import { errorResponseOf } from "./error-handler.js";

/** The contract error for what Node's HTTP parser refused, by the parser's error code. */
function appErrorOf(code: string | undefined): AppError {
  switch (code) {
    case "HPE_HEADER_OVERFLOW":
      return new AppError("REQUEST_HEADER_TOO_LARGE");
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return new AppError("PAYLOAD_TOO_LARGE");
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new AppError("VALIDATION_FAILED", "The request did not arrive in time.");
    default:
      return new AppError("VALIDATION_FAILED", "The request is not well-formed HTTP.");
  }
}

/**
 * Answers what Node's HTTP parser refuses before Express sees a request (headers over its 16 kB
 * limit, a malformed request line, a request that never finished arriving) with the contract's
 * error body, where Node's default answer is a bare status line. There is no request yet, so the
 * request id is a fresh one, sent in the header and the body like any other.
 */
export function answerParserErrors(server: Server, logger: Logger): void {
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    // As Node's own handler: answer only when the socket is usable and no response has begun.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const requestId = randomUUID();
    const { status, headers, body } = errorResponseOf(appErrorOf(error.code), requestId);
    logger.info({ requestId, status, reason: error.code }, "the HTTP parser refused a request");
    const payload = JSON.stringify(body);
    const head = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}`,
      "Content-Type: application/json; charset=utf-8",
      `Content-Length: ${Buffer.byteLength(payload)}`,
      `X-Request-Id: ${requestId}`,
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      "Connection: close",
    ];
    socket.end(`${head.join("\r\n")}\r\n\r\n${payload}`, () => socket.destroy());
  });
}
