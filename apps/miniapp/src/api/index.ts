import type { RequestBody } from "@wxauth/contracts";
import { http } from "../http";

/**
 * One function per contract route; bodies and answers are typed by the contract. getAvatar has
 * none: it serves image bytes, which an <image> loads from the user's avatarUrl.
 */
export const api = {
  wechatLogin: (body: RequestBody<"wechatLogin">) => http.call("wechatLogin", body),
  wechatRegister: (body: RequestBody<"wechatRegister">) => http.call("wechatRegister", body),
  sendRegistrationSms: (body: RequestBody<"sendRegistrationSms">) =>
    http.call("sendRegistrationSms", body),
  refreshSession: (body: RequestBody<"refreshSession">) => http.call("refreshSession", body),
  logout: (body: RequestBody<"logout">) => http.call("logout", body),
  getMe: () => http.call("getMe", undefined),
  updateMe: (body: RequestBody<"updateMe">) => http.call("updateMe", body),
  sendPhoneChangeSms: (body: RequestBody<"sendPhoneChangeSms">) =>
    http.call("sendPhoneChangeSms", body),
  bindPhone: (body: RequestBody<"bindPhone">) => http.call("bindPhone", body),
  /** `filePath` is a local temp file, e.g. what chooseAvatar hands over. */
  uploadAvatar: (filePath: string) => http.upload("uploadAvatar", filePath),
  listSessions: () => http.call("listSessions", undefined),
  revokeSession: (sessionId: string) => http.call("revokeSession", undefined, { sessionId }),
  revokeAllSessions: () => http.call("revokeAllSessions", undefined),
  requestDeletion: () => http.call("requestDeletion", undefined),
  cancelDeletion: () => http.call("cancelDeletion", undefined),
  health: () => http.call("health", undefined),
};
