// The minimal returning-user login the API's is held against: Express + pg + jsonwebtoken, the
// same jscode2session call and the same writes in one transaction on the API's schema. Nothing
// else: no rate limit, no logging, no code memo, no error bodies beyond a status.
import { createCipheriv, createHash, createSecretKey, randomBytes, randomUUID } from "node:crypto";
import express from "express";
import jwt from "jsonwebtoken";
import pg from "pg";

const env = process.env;
const pool = new pg.Pool({ connectionString: env.DATABASE_URL });
const jwtKey = createSecretKey(Buffer.from(env.JWT_SECRET, "utf8"));
const sealKey = randomBytes(32);
const sessionQuery = new URLSearchParams({
  appid: env.WECHAT_APPID,
  secret: env.WECHAT_SECRET,
  grant_type: "authorization_code",
});
const sessionUrl = `${env.WECHAT_API_BASE_URL}/sns/jscode2session?${sessionQuery}&js_code=`;

const seal = (text) => {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", sealKey, iv);
  const sealed = Buffer.concat([cipher.update(text, "utf8"), cipher.final()]);
  return [iv, cipher.getAuthTag(), sealed].map((part) => part.toString("base64url")).join(".");
};

const app = express();
app.post("/api/auth/wechat/login", express.json(), async (req, res, next) => {
  try {
    const response = await fetch(sessionUrl + encodeURIComponent(req.body.code));
    const wechat = JSON.parse(await response.text());
    if (!wechat.openid) return res.status(401).json({ error: wechat });
    const { rows } = await pool.query(
      `SELECT id, phone, nickname, avatar_url AS "avatarUrl", created_at AS "createdAt"
        FROM users WHERE openid = $1`,
      [wechat.openid],
    );
    const user = rows[0];
    if (!user) return res.status(404).json({ error: "not registered" });
    const refreshToken = randomBytes(32).toString("base64url");
    const now = new Date();
    const sessionId = randomUUID();
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(
        `INSERT INTO wechat_session_keys
          (id, openid, unionid, session_key_ciphertext, obtained_at, created_at, updated_at)
          VALUES ($1, $2, $3, $4, $5, $5, $5)
          ON CONFLICT (openid) DO UPDATE SET unionid = excluded.unionid,
            session_key_ciphertext = excluded.session_key_ciphertext,
            obtained_at = excluded.obtained_at, updated_at = excluded.updated_at`,
        [randomUUID(), wechat.openid, wechat.unionid ?? null, seal(wechat.session_key), now],
      );
      await client.query(
        `INSERT INTO sessions (id, user_id, created_at, updated_at)
          VALUES ($1, $2, $3, $3)`,
        [sessionId, user.id, now],
      );
      await client.query(
        `INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at, created_at, updated_at)
          VALUES ($1, $2, $3, $4, $5, $5)`,
        [
          randomUUID(),
          sessionId,
          createHash("sha256").update(refreshToken).digest("base64url"),
          new Date(now.getTime() + 30 * 86_400_000),
          now,
        ],
      );
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK");
      throw error;
    } finally {
      client.release();
    }
    const accessToken = jwt.sign({}, jwtKey, {
      algorithm: "HS256",
      subject: user.id,
      issuer: "wxauth",
      audience: "wxauth",
      expiresIn: 900,
      jwtid: randomUUID(),
    });
    const userBody = { ...user, createdAt: user.createdAt.toISOString() };
    res.json({
      status: "authenticated",
      accessToken,
      refreshToken,
      expiresIn: 900,
      user: userBody,
    });
  } catch (error) {
    next(error);
  }
});

const server = app.listen(Number(env.PORT), "127.0.0.1", () => {
  process.stdout.write(`reference login listening on ${server.address().port}\n`);
});
process.once("SIGTERM", () => server.close(() => pool.end().then(() => process.exit(0))));
