import { describe, expect, it } from "vitest";
import { freePort } from "./node-process.js";
import { requirePostgres } from "./postgres.js";

describe("the PostgreSQL test run without a server", () => {
  it("fails with the address it needs and how to provide it, instead of skipping", async () => {
    const port = await freePort();
    await expect(requirePostgres("127.0.0.1", port)).rejects.toThrow(
      new RegExp(`^PostgreSQL is required at 127\\.0\\.0\\.1:${port} .*ECONNREFUSED`),
    );
  });
});
