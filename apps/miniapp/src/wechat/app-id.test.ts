import { SANDBOX_APPID as CONTRACT_SANDBOX_APPID } from "@wxauth/contracts/sandbox";
import { describe, expect, it } from "vitest";
import { SANDBOX_APPID, currentAppid } from "./app-id";

describe("currentAppid", () => {
  it("falls back to the sandbox's first app, the one the contracts name", () => {
    expect(SANDBOX_APPID).toBe(CONTRACT_SANDBOX_APPID);
    expect(currentAppid()).toBe(import.meta.env.VITE_WECHAT_APPID || SANDBOX_APPID);
  });
});
