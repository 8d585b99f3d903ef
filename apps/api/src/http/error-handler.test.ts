import { describe, expect, it } from "vitest";
import { AppError } from "../errors.js";
import { errorResponseOf } from "./error-handler.js";

describe("errorResponseOf", () => {
  it("answers an error's retryAfterS as Retry-After", () => {
    const error = new AppError("SMS_RATE_LIMITED", undefined, { retryAfterS: 42 });
    const { status, headers, body } = errorResponseOf(error, "req-1");
    expect(status).toBe(429);
    expect(headers["Retry-After"]).toBe("42");
    expect(body).toEqual({
      error: {
        code: "SMS_RATE_LIMITED",
        message: expect.any(String),
        retryable: true,
        requestId: "req-1",
      },
    });
  });

  it("keeps the one-second Retry-After of a retryable outage without retryAfterS", () => {
    expect(errorResponseOf(new AppError("WECHAT_UNAVAILABLE"), "r").headers["Retry-After"]).toBe(
      "1",
    );
    expect(errorResponseOf(new AppError("SMS_UNAVAILABLE"), "r").headers).toEqual({});
  });
});
