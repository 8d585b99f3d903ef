import { afterEach, describe, expect, it, vi } from "vitest";
import { readSentSmsCode } from "./sms";

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("the SMS code in WeChat", () => {
  it("is only ever typed by the user: nothing asks the sandbox for it", async () => {
    const fetch = vi.fn();
    vi.stubGlobal("fetch", fetch);
    expect(await readSentSmsCode("+8613800138000")).toBeUndefined();
    expect(fetch).not.toHaveBeenCalled();
  });
});
