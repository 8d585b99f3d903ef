import express, { Router } from "express";
import { queryOf } from "../http/query.js";
import type { WechatPushService } from "./wechat-push.service.js";

/** The push route; WeChat's console takes it per app, e.g. https://api.example.com/api/wechat/push/wx123. */
export const WECHAT_PUSH_PATH = "/api/wechat/push/:appid";

/** Pushes are small JSON messages; anything bigger is not WeChat's. */
const PUSH_BODY_LIMIT = "64kb";

/**
 * WeChat's message push. Mounted before the app's JSON parser: the body is read as the exact text
 * WeChat sent, whatever its Content-Type, since safe mode's signature covers it as sent. Not in the
 * contract: its wire is WeChat's (answers are the text `success` or the echostr), not wxauth's.
 */
export function wechatPushRouter(deps: { wechatPush: WechatPushService }): Router {
  const { wechatPush } = deps;
  const router = Router();
  router.get(WECHAT_PUSH_PATH, (req, res) => {
    const echostr = wechatPush.verifyServer(String(req.params.appid), queryOf(req));
    res.type("text/plain").send(echostr);
  });
  router.post(
    WECHAT_PUSH_PATH,
    express.text({ type: () => true, limit: PUSH_BODY_LIMIT }),
    async (req, res) => {
      const body = typeof req.body === "string" ? req.body : "";
      await wechatPush.receive(String(req.params.appid), queryOf(req), body, String(req.id));
      // WeChat counts a push as received on `success` (or an empty answer), and repeats it otherwise.
      res.type("text/plain").send("success");
    },
  );
  return router;
}
