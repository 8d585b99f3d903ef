import { describe, expect, it, vi } from "vitest";
import { createSecurityEventLog } from "./security-events.js";
import type { NewSecurityEvent } from "./security-events.repository.js";

function setup(insert: (event: NewSecurityEvent) => Promise<void>) {
  const lines: { level: string; obj: Record<string, unknown> }[] = [];
  const logger = {
    info: (obj: object) => void lines.push({ level: "info", obj: obj as Record<string, unknown> }),
    error: (obj: object) =>
      void lines.push({ level: "error", obj: obj as Record<string, unknown> }),
  };
  const onWriteFailure = vi.fn();
  const log = createSecurityEventLog({
    data: { securityEvents: { insert } },
    logger,
    clock: { now: () => Date.UTC(2026, 11, 7, 9) },
    onWriteFailure,
  });
  return { log, lines, onWriteFailure };
}

describe("logSecurityEvent", () => {
  it("writes the line with the log-only fields, and the row without them", async () => {
    const rows: NewSecurityEvent[] = [];
    const { log, lines } = setup(async (row) => void rows.push(row));
    await log("sms_sent", {
      userId: "u-1",
      requestId: "r-1",
      details: { purpose: "register", appid: "wx1" },
      logOnly: { phone: "138****8000" },
    });
    expect(lines).toEqual([
      {
        level: "info",
        obj: {
          event: "sms_sent",
          userId: "u-1",
          requestId: "r-1",
          purpose: "register",
          appid: "wx1",
          phone: "138****8000",
        },
      },
    ]);
    expect(rows).toEqual([
      {
        type: "sms_sent",
        userId: "u-1",
        sessionId: null,
        appid: "wx1",
        requestId: "r-1",
        details: { purpose: "register", appid: "wx1" },
        at: new Date(Date.UTC(2026, 11, 7, 9)),
      },
    ]);
  });

  it("keeps the user's request going when the row cannot be written, and says so loudly", async () => {
    const { log, lines, onWriteFailure } = setup(() => Promise.reject(new Error("database down")));
    await expect(
      log("logout", { userId: "u-1", requestId: "r-1", sessionId: "s-1" }),
    ).resolves.toBe(undefined);
    expect(lines.map((line) => line.level)).toEqual(["info", "error"]);
    expect(lines[1]!.obj).toMatchObject({ event: "logout", userId: "u-1", sessionId: "s-1" });
    expect(onWriteFailure).toHaveBeenCalledOnce();
  });

  it("fails with the caller's transaction when given one: the action and its event commit together", async () => {
    const { log, onWriteFailure } = setup(async () => {});
    const within = { securityEvents: { insert: () => Promise.reject(new Error("rolled back")) } };
    await expect(
      log("account_banned", { userId: "u-1", requestId: "r-1" }, within),
    ).rejects.toThrow("rolled back");
    expect(onWriteFailure).not.toHaveBeenCalled();
  });
});
