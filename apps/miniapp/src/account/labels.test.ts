import { describe, expect, it } from "vitest";
import { deviceLabel, formatDateTime } from "./labels";

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
