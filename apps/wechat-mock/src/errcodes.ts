import { randomBytes } from "node:crypto";

/** errmsg texts as WeChat's servers phrase them (before the `, rid: …` suffix). */
const ERRMSG_BY_ERRCODE: Readonly<Record<number, string>> = {
  [-1]: "system error",
  40001: "invalid credential, access_token is invalid or not latest",
  40002: "invalid grant_type",
  40003: "invalid openid",
  40013: "invalid appid",
  40014: "invalid access_token",
  40029: "invalid code",
  40125: "invalid appsecret",
  40129: "invalid scene",
  40163: "code been used",
  40164: "invalid ip, not in whitelist",
  40226: "high risk user",
  41001: "access_token missing",
  41002: "appid missing",
  41004: "appsecret missing",
  41008: "missing code",
  42001: "access_token expired",
  43001: "require GET method",
  43002: "require POST method",
  43104: "appid and openid not match",
  44002: "empty post data",
  45009: "reach max api daily quota limit",
  45011: "api minute-quota reach limit  mustslower  retry next minute",
  47001: "data format error",
};

export interface WechatError {
  errcode: number;
  errmsg: string;
}

/** WeChat's request id: `<unix seconds hex>-<8 hex>-<8 hex>`, the shape clients parse out of errmsg. */
export function newRid(nowMs: number): string {
  const random = randomBytes(8).toString("hex");
  const seconds = Math.floor(nowMs / 1000)
    .toString(16)
    .padStart(8, "0");
  return `${seconds}-${random.slice(0, 8)}-${random.slice(8)}`;
}

export function wechatError(errcode: number, nowMs: number): WechatError {
  const text = ERRMSG_BY_ERRCODE[errcode] ?? `errcode ${errcode}`;
  return { errcode, errmsg: `${text}, rid: ${newRid(nowMs)}` };
}
