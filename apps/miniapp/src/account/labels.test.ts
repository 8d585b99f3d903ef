import { describe, expect, it } from "vitest";
import { deviceLabel, formatDateTime, formatDuration } from "./labels";

describe("deviceLabel", () => {
  it("names a device by its model and system, else its platform", () => {
    expect(deviceLabel({ platform: "ios", model: "iPhone 15", system: "iOS 17.0" })).toBe(
      "iPhone 15 · iOS 17.0",
    );
    expect(deviceLabel({ model: "iPhone 15" })).toBe("iPhone 15");
    expect(deviceLabel({ platform: "windows" })).toBe("windows");
    expect(deviceLabel({})).toBe("未知设备");
  });
});

describe("formatDateTime", () => {
  it("writes a moment in the phone's time zone, the Chinese way", () => {
    const local = new Date(2026, 11, 11, 9, 5);
    expect(formatDateTime(local.toISOString())).toBe("2026年12月11日 09:05");
  });
});

describe("formatDuration", () => {
  it("names a wait in its largest whole unit", () => {
    expect(formatDuration(7 * 86_400)).toBe("7 天");
    expect(formatDuration(86_400)).toBe("1 天");
    expect(formatDuration(36 * 3_600)).toBe("36 小时");
    expect(formatDuration(3_600)).toBe("1 小时");
    expect(formatDuration(90 * 60)).toBe("90 分钟");
    // Never longer than the wait really is: the user may count on it to cancel.
    expect(formatDuration(150)).toBe("2 分钟");
    expect(formatDuration(30)).toBe("1 分钟");
  });
});
