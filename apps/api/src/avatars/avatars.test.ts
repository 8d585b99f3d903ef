import { UserSchema, contract } from "@wxauth/contracts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectErrorBody,
  startTestApi,
  type HttpResult,
  type TestApi,
} from "../testing/harness.js";
import { solidPng } from "../testing/png.js";

/** The smallest well-known baseline JPEG (1×1). */
const JPEG = Buffer.from(
  "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=",
  "base64",
);
const WEBP = Buffer.concat([
  Buffer.from("RIFF"),
  Buffer.from([26, 0, 0, 0]),
  Buffer.from("WEBPVP8L"),
  Buffer.alloc(18),
]);
const MAX_BYTES = contract.uploadAvatar.upload.maxBytes;

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

interface Part {
  field?: string;
  bytes: Uint8Array;
  filename: string;
  type?: string;
}

/** What wx.uploadFile sends: multipart/form-data with the file in `file` (undici builds it). */
async function upload(
  token: string | undefined,
  parts: Part[],
  fields: Record<string, string> = {},
): Promise<HttpResult> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  for (const { field = "file", bytes, filename, type = "application/octet-stream" } of parts) {
    form.append(field, new Blob([bytes], { type }), filename);
  }
  const response = await fetch(`${api.url}/api/me/avatar`, {
    method: "POST",
    headers: token ? { authorization: `Bearer ${token}` } : {},
    body: form,
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    text,
    body: text ? (JSON.parse(text) as unknown) : undefined,
  };
}

async function download(url: string): Promise<{ response: Response; bytes: Buffer }> {
  const response = await fetch(url);
  return { response, bytes: Buffer.from(await response.arrayBuffer()) };
}

describe("POST /api/me/avatar", () => {
  it.each([
    ["PNG", solidPng(4, 3, [7, 193, 96]), "image/png"],
    ["JPEG", JPEG, "image/jpeg"],
    ["WebP", WEBP, "image/webp"],
  ])("stores a %s and sets avatarUrl to where it is served", async (_name, bytes, type) => {
    const session = await api.register();
    const result = await upload(session.accessToken, [{ bytes, filename: "tmp_abc.img" }]);
    expect(result.status, result.text).toBe(200);
    const user = UserSchema.parse(result.body);
    expect(user.id).toBe(session.user.id);
    expect(user.avatarUrl).toMatch(new RegExp(`^${api.url}/api/avatars/[0-9a-f-]{36}$`));

    const me = UserSchema.parse(
      (await api.request("GET", "/api/me", { token: session.accessToken })).body,
    );
    expect(me.avatarUrl).toBe(user.avatarUrl);

    // Served to anyone, with no token: an <image src> cannot send one.
    const { response, bytes: served } = await download(user.avatarUrl!);
    expect(response.status).toBe(200);
    expect(served.equals(Buffer.from(bytes))).toBe(true);
    expect(response.headers.get("content-type")).toBe(type);
    expect(response.headers.get("content-length")).toBe(String(bytes.byteLength));
    expect(response.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    expect(response.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
  });

  it("replaces the previous avatar: its URL is gone and only one is stored", async () => {
    const session = await api.register();
    const first = UserSchema.parse(
      (
        await upload(session.accessToken, [
          { bytes: solidPng(2, 2, [255, 0, 0]), filename: "a.png" },
        ])
      ).body,
    );
    const second = UserSchema.parse(
      (await upload(session.accessToken, [{ bytes: JPEG, filename: "b.jpg" }])).body,
    );
    expect(second.avatarUrl).not.toBe(first.avatarUrl);

    const gone = await api.raw({ path: new URL(first.avatarUrl!).pathname });
    expect(gone.status).toBe(404);
    expectErrorBody(gone, "NOT_FOUND");
    expect((await download(second.avatarUrl!)).bytes.equals(JPEG)).toBe(true);
    const stored = await api.deps.db
      .selectFrom("avatars")
      .select("id")
      .where("user_id", "=", session.user.id)
      .execute();
    expect(stored.length).toBe(1);
  });

  it("an avatarUrl changed to another image lets the uploaded one go; saving the same URL keeps it", async () => {
    const session = await api.register();
    const uploaded = UserSchema.parse(
      (await upload(session.accessToken, [{ bytes: JPEG, filename: "a.jpg" }])).body,
    );
    const stored = async () =>
      (
        await api.deps.db
          .selectFrom("avatars")
          .select("id")
          .where("user_id", "=", session.user.id)
          .execute()
      ).length;

    // A profile saved again with the avatar it already has (nickname changed) keeps the file.
    const resaved = await api.request("PATCH", "/api/me", {
      token: session.accessToken,
      body: { nickname: "小明", avatarUrl: uploaded.avatarUrl },
    });
    expect(resaved.status).toBe(200);
    expect(await stored()).toBe(1);
    expect((await download(uploaded.avatarUrl!)).bytes.equals(JPEG)).toBe(true);

    const external = "https://thirdwx.qlogo.cn/mmopen/abc/132";
    const changed = await api.request("PATCH", "/api/me", {
      token: session.accessToken,
      body: { avatarUrl: external },
    });
    expect(UserSchema.parse(changed.body).avatarUrl).toBe(external);
    expect(await stored()).toBe(0);
    const gone = await api.raw({ path: new URL(uploaded.avatarUrl!).pathname });
    expect(gone.status).toBe(404);
    expectErrorBody(gone, "NOT_FOUND");
  });

  it("tells the type by the bytes: a text file named .png and declared image/png is 400", async () => {
    const session = await api.register();
    const result = await upload(session.accessToken, [
      { bytes: Buffer.from("hello, not an image\n"), filename: "avatar.png", type: "image/png" },
    ]);
    expect(result.status).toBe(400);
    expectErrorBody(result, "VALIDATION_FAILED");
  });

  it.each([
    [
      "a RIFF file that is not WebP (WAV)",
      Buffer.concat([Buffer.from("RIFF"), Buffer.alloc(4), Buffer.from("WAVEfmt ")]),
    ],
    ["a GIF", Buffer.from("GIF89a\x01\x00\x01\x00", "latin1")],
    ["an empty file", Buffer.alloc(0)],
  ])("refuses %s with 400 VALIDATION_FAILED", async (_name, bytes) => {
    const session = await api.register();
    const result = await upload(session.accessToken, [{ bytes, filename: "x.png" }]);
    expect(result.status).toBe(400);
    expectErrorBody(result, "VALIDATION_FAILED");
  });

  it("refuses a file over the limit with 413 PAYLOAD_TOO_LARGE, and keeps the old avatar", async () => {
    const session = await api.register();
    const kept = UserSchema.parse(
      (await upload(session.accessToken, [{ bytes: JPEG, filename: "a.jpg" }])).body,
    );
    const oversize = Buffer.concat([solidPng(1, 1, [0, 0, 0]), Buffer.alloc(MAX_BYTES)]);
    const result = await upload(session.accessToken, [{ bytes: oversize, filename: "big.png" }]);
    expect(result.status).toBe(413);
    expectErrorBody(result, "PAYLOAD_TOO_LARGE");
    const me = UserSchema.parse(
      (await api.request("GET", "/api/me", { token: session.accessToken })).body,
    );
    expect(me.avatarUrl).toBe(kept.avatarUrl);
  });

  it("accepts a file of exactly the limit", async () => {
    const session = await api.register();
    const bytes = Buffer.concat([JPEG, Buffer.alloc(MAX_BYTES - JPEG.length)]);
    const result = await upload(session.accessToken, [{ bytes, filename: "max.jpg" }]);
    expect(result.status, result.text).toBe(200);
  });

  it("ignores the extra form fields wx.uploadFile may send", async () => {
    const session = await api.register();
    const result = await upload(session.accessToken, [{ bytes: JPEG, filename: "a.jpg" }], {
      scene: "profile",
    });
    expect(result.status, result.text).toBe(200);
  });

  it.each([
    ["no file at all", [] as Part[]],
    ["the file under another field", [{ field: "avatar", bytes: JPEG, filename: "a.jpg" }]],
    [
      "two files",
      [
        { bytes: JPEG, filename: "a.jpg" },
        { bytes: JPEG, filename: "b.jpg" },
      ],
    ],
  ])("refuses %s with 400 VALIDATION_FAILED", async (_name, parts) => {
    const session = await api.register();
    const result = await upload(session.accessToken, parts, { nickname: "x" });
    expect(result.status).toBe(400);
    expectErrorBody(result, "VALIDATION_FAILED");
  });

  it.each([
    ["JSON", "application/json", JSON.stringify({ file: "x" })],
    ["multipart without a boundary", "multipart/form-data", "--x\r\n"],
    ["a broken multipart body", "multipart/form-data; boundary=xyz", "--xyz\r\nContent-Dis"],
  ])("refuses %s with 400 VALIDATION_FAILED", async (_name, contentType, body) => {
    const session = await api.register();
    const result = await api.raw({
      method: "POST",
      path: "/api/me/avatar",
      headers: { authorization: `Bearer ${session.accessToken}`, "content-type": contentType },
      body,
    });
    expect(result.status).toBe(400);
    expectErrorBody(result, "VALIDATION_FAILED");
  });

  it("needs a token, and reads no upload without one", async () => {
    const result = await upload(undefined, [{ bytes: JPEG, filename: "a.jpg" }]);
    expect(result.status).toBe(401);
    expectErrorBody(result, "UNAUTHORIZED");
  });

  it("answers 401 for a token of an account that no longer exists", async () => {
    const session = await api.register();
    await api.deps.db.deleteFrom("users").where("id", "=", session.user.id).execute();
    const result = await upload(session.accessToken, [{ bytes: JPEG, filename: "a.jpg" }]);
    expect(result.status).toBe(401);
    expectErrorBody(result, "UNAUTHORIZED");
  });

  it("builds avatarUrl from the forwarded protocol and host behind a trusted proxy", async () => {
    const proxied = await startTestApi({ env: { TRUST_PROXY: "loopback" } });
    try {
      const session = await proxied.register();
      const form = new FormData();
      form.append("file", new Blob([JPEG]), "a.jpg");
      const response = await fetch(`${proxied.url}/api/me/avatar`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${session.accessToken}`,
          "x-forwarded-proto": "https",
          "x-forwarded-host": "api.example.com",
        },
        body: form,
      });
      const user = UserSchema.parse(await response.json());
      expect(user.avatarUrl).toMatch(/^https:\/\/api\.example\.com\/api\/avatars\/[0-9a-f-]{36}$/);
    } finally {
      await proxied.close();
    }
  });
});

describe("an upload beside other changes to the avatar", () => {
  // Each takes the user's row before the avatars' (users.lock): in the opposite orders they
  // deadlocked, and PostgreSQL ended one of them with a 503.
  it("an upload and a PATCH of avatarUrl at once, again and again, all succeed", async () => {
    const { accessToken } = await api.register();
    const png = solidPng(2, 2, [7, 193, 96]);
    const statuses: number[] = [];
    for (let round = 0; round < 15; round++) {
      const [uploaded, patched] = await Promise.all([
        upload(accessToken, [{ bytes: png, filename: "tmp_avatar.png" }]),
        api.request("PATCH", "/api/me", {
          token: accessToken,
          body: { avatarUrl: `https://thirdwx.qlogo.cn/mmopen/round-${round}/132` },
        }),
      ]);
      statuses.push(uploaded.status, patched.status);
    }
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });
});

describe("GET /api/avatars/:avatarId", () => {
  it.each([
    ["an unknown id", "/api/avatars/00000000-0000-4000-8000-000000000000"],
    ["an id of the wrong shape", "/api/avatars/not-an-id"],
    ["a NUL byte", "/api/avatars/%00"],
  ])("answers %s with 404 NOT_FOUND", async (_name, path) => {
    const result = await api.raw({ path });
    expect(result.status).toBe(404);
    expectErrorBody(result, "NOT_FOUND");
  });
});
