import { describe, expect, it } from "vitest";
import { stripRouteSummaries } from "./no-route-summaries";

describe("route summaries compiled out of the mini program", () => {
  it("drops each summary, on one line or wrapped, escapes included, and nothing else", () => {
    const code = [
      "var contract = {",
      "  wechatLogin: {",
      '    method: "POST",',
      '    path: "/api/auth/wechat/login",',
      '    summary: "Exchange a wx.login code for a session, or for a \\"ticket\\"",',
      "    auth: false,",
      "  },",
      "  refresh: {",
      "    summary:",
      '      "Rotate a refresh token, the user\'s session kept",',
      '    path: "/api/auth/refresh"',
      "  }",
      "};",
    ].join("\n");
    const stripped = stripRouteSummaries(code);
    expect(stripped).not.toContain("summary");
    expect(stripped).toContain('path: "/api/auth/wechat/login",');
    expect(stripped).toContain("auth: false,");
    expect(stripped).toContain('path: "/api/auth/refresh"');
    // Still a valid object literal.
    expect(new Function(`${stripped}; return contract;`)()).toEqual({
      wechatLogin: { method: "POST", path: "/api/auth/wechat/login", auth: false },
      refresh: { path: "/api/auth/refresh" },
    });
  });
});
