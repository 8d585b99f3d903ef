/*
 * fast-check generators for hostile input: request bodies, headers and token strings. They
 * produce what a client can put on the wire (raw body bytes, header values Node will send), so a
 * failing case replays as one HTTP request.
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";

/** Runs per property: small enough for CI on 2 cores, FUZZ_RUNS for a long soak. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? "") || 150;
/** A property's time limit (room for a loaded machine) grows with FUZZ_RUNS, so a soak is not cut off. */
export const FUZZ_TIMEOUT_MS = 60_000 * Math.max(1, FUZZ_RUNS / 150);

const base64url = (value: string | Buffer) => Buffer.from(value).toString("base64url");
const BASE64URL_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** A string of characters Node lets into a header value (visible ASCII, tab, obs-text). */
export const headerValue = (maxLength = 200) =>
  fc
    .array(
      fc.oneof(
        fc.integer({ min: 0x20, max: 0x7e }),
        fc.constant(0x09),
        fc.integer({ min: 0x80, max: 0xff }),
      ),
      { maxLength },
    )
    .map((codes) => String.fromCharCode(...codes));

/** Keys that have broken JavaScript servers before. */
const dangerousKey = fc.constantFrom(
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "valueOf",
  "hasOwnProperty",
  "__defineGetter__",
  "then",
  "",
);

/** JSON text with a dangerous key at some depth (written by hand: JSON.stringify drops __proto__). */
const prototypePollutionJson = fc
  .tuple(dangerousKey, dangerousKey, fc.jsonValue({ maxDepth: 2 }), fc.boolean())
  .map(
    ([outer, inner, value, nested]) =>
      `{${JSON.stringify(outer)}:${nested ? `{${JSON.stringify(inner)}:${JSON.stringify(value ?? null)}}` : JSON.stringify(value ?? null)},"isAdmin":true}`,
  );

const deepNesting = fc
  .tuple(fc.integer({ min: 50, max: 5_000 }), fc.constantFrom("array", "object"))
  .map(([depth, kind]) =>
    kind === "array"
      ? `${"[".repeat(depth)}${"]".repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`,
  );

/** Around the 16 kB body limit: some under it, some well over (413). */
const hugeString = fc
  .tuple(
    fc.string({ minLength: 1, maxLength: 3, unit: "grapheme" }),
    fc.integer({ min: 1_000, max: 40_000 }),
  )
  .map(([unit, times]) => unit.repeat(times));

const unicodeString = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 60 }),
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.constantFrom("\u0000", "\uFEFF", "\uD800", "\u202Eevil", "Ｃｏｄｅ", "😀".repeat(40), "\r\n"),
);

/** A value for one field of a body: every JSON type, and strings that are hard to handle. */
export const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 3 },
  { arbitrary: unicodeString, weight: 3 },
  { arbitrary: hugeString, weight: 1 },
  { arbitrary: fc.constantFrom(0, -1, 1e308, -0, 2 ** 53 + 1, true, null, [], {}), weight: 1 },
);

/** Raw bodies of every kind. `fieldNames` shapes some of them like the route's real body. */
export function rawBody(fieldNames: readonly string[]): fc.Arbitrary<string | Buffer> {
  const shaped =
    fieldNames.length === 0
      ? fc.jsonValue().map((value) => JSON.stringify(value) ?? "null")
      : fc
          .record(Object.fromEntries(fieldNames.map((name) => [name, fieldValue])), {
            requiredKeys: [],
          })
          .chain((fields) =>
            fc
              .dictionary(fc.oneof(dangerousKey, fc.string({ maxLength: 10 })), fieldValue, {
                maxKeys: 3,
              })
              .map((extra) => JSON.stringify({ ...extra, ...fields })),
          );
  return fc.oneof(
    { arbitrary: shaped, weight: 4 },
    { arbitrary: fc.jsonValue().map((value) => JSON.stringify(value) ?? "null"), weight: 2 },
    { arbitrary: prototypePollutionJson, weight: 2 },
    { arbitrary: deepNesting, weight: 1 },
    { arbitrary: hugeString.map((s) => JSON.stringify({ [fieldNames[0] ?? "x"]: s })), weight: 1 },
    // Not JSON at all: arbitrary bytes, cut-off JSON, and JSON's near misses.
    { arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)), weight: 2 },
    {
      arbitrary: fc
        .tuple(shaped, fc.nat())
        .map(([json, cut]) => json.slice(0, json.length > 1 ? cut % (json.length - 1) : 0)),
      weight: 1,
    },
    {
      arbitrary: fc.constantFrom(
        "",
        "{",
        "}",
        "null",
        "undefined",
        "{'code':'x'}",
        "NaN",
        '"\\ud800"',
        "[]",
      ),
      weight: 1,
    },
  );
}

/** Content-Type values a broken or hostile client sends. `undefined` sends no header at all. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constantFrom(
    undefined,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin1",
    "application/json; charset=utf-16",
    "application/json; charset=nonsense",
    "APPLICATION/JSON",
    "application/merge-patch+json",
    "text/plain",
    "text/html",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=----x",
    "application/octet-stream",
    "application/json, text/plain",
    "",
    ";;;",
  ),
  headerValue(60),
);

/** Everything a client might send as a token, given real ones to mangle. */
export function tokenString(real: {
  accessToken: string;
  refreshToken: string;
  userId: string;
}): fc.Arbitrary<string> {
  const mutate = (token: string) =>
    fc
      .tuple(fc.nat({ max: token.length - 1 }), fc.constantFrom(...BASE64URL_CHARS))
      .map(([at, char]) => token.slice(0, at) + char + token.slice(at + 1));
  const truncate = (token: string) =>
    fc.nat({ max: token.length - 1 }).map((length) => token.slice(0, length));
  const [header = "", payload = ""] = real.accessToken.split(".");
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<
    string,
    unknown
  >;
  const forged = fc
    .record({
      alg: fc.constantFrom("none", "None", "NONE", "HS512", "RS256", "ES256", "", "HS256"),
      sub: fc.oneof(fc.constant(real.userId), fc.uuid(), fc.string()),
      exp: fc.oneof(fc.constant(claims.exp), fc.integer(), fc.constant(9_999_999_999)),
      signature: fc.constantFrom("", "x", "forged-with-another-secret"),
    })
    .map(({ alg, sub, exp, signature }) => {
      const head = base64url(JSON.stringify({ alg, typ: "JWT" }));
      const body = base64url(JSON.stringify({ ...claims, sub, exp }));
      const sig =
        signature === "forged-with-another-secret"
          ? createHmac("sha256", "not-the-secret-not-the-secret-00")
              .update(`${head}.${body}`)
              .digest("base64url")
          : signature;
      return `${head}.${body}.${sig}`;
    });
  // The real signature on a payload that says something else.
  const tampered = fc
    .uuid()
    .map(
      (sub) =>
        `${header}.${base64url(JSON.stringify({ ...claims, sub }))}.${real.accessToken.split(".")[2] ?? ""}`,
    );
  return fc.oneof(
    fc.string({ maxLength: 100 }),
    headerValue(100),
    fc.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    mutate(real.accessToken),
    truncate(real.accessToken),
    mutate(real.refreshToken),
    truncate(real.refreshToken),
    forged,
    tampered,
    fc.constantFrom(
      "null",
      "undefined",
      "Bearer",
      "..",
      "a.b.c",
      `${real.accessToken}.`,
      ` ${real.refreshToken}`,
    ),
  );
}
