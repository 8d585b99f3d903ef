import { describe, expect, it } from "vitest";
import { isBaseLibraryAtLeast, PHONE_CODE_MIN_BASE_LIBRARY } from "./phone";

describe("base library check of the phone button", () => {
  it.each([
    ["3.7.0", true],
    ["2.21.2", true],
    ["2.21.10", true],
    ["2.22", true],
    ["2.21.1", false],
    ["2.9.9", false],
    ["1.9.0", false],
  ])("base library %s gives a phone code: %s", (version, expected) => {
    expect(isBaseLibraryAtLeast(version, PHONE_CODE_MIN_BASE_LIBRARY)).toBe(expected);
  });
});
