import { WechatLoginRequestSchema } from "@wxauth/contracts";
import { beforeEach, describe, expect, it } from "vitest";
import { installFakeUni, type FakeUni } from "../testing/fake-uni";
import { currentDevice } from "./device";

describe("currentDevice", () => {
  let uni: FakeUni;
  beforeEach(() => {
    uni = installFakeUni();
  });

  it("takes platform, model and system from uni.getDeviceInfo and nothing else", () => {
    expect(currentDevice()).toEqual({ platform: "ios", model: "iPhone 15", system: "iOS 17.0" });
  });

  it("cuts a field to the contract's 64 characters, so the sign-in is never refused for it", () => {
    uni.deviceInfo = { platform: "android", model: `  ${"M".repeat(100)} `, system: "Android 14" };
    const device = currentDevice();
    expect(device.model).toBe("M".repeat(64));
    expect(WechatLoginRequestSchema.safeParse({ code: "c", device }).success).toBe(true);
  });

  it("leaves out what the runtime does not know", () => {
    uni.deviceInfo = { platform: "web", model: "", system: undefined };
    expect(currentDevice()).toEqual({ platform: "web" });
  });

  it("signs in without a device when the runtime cannot tell", () => {
    uni.deviceInfo = new Error("getDeviceInfo:fail");
    expect(currentDevice()).toEqual({});
  });
});
