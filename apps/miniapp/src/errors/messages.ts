import { contract, errorCatalog, type ErrorCode } from "@wxauth/contracts";
import { ApiError, TransportError, type TransportFailure } from "../http/errors";
import type { PhoneFailure } from "../wechat/phone";
import { WechatLoginError } from "../wechat/errors";

/** A failure as the user sees it: what happened, and whether trying again can help. */
export interface FailureNotice {
  message: string;
  retryable: boolean;
}

/** The user-facing (Chinese) message of every API error code, straight from the contract. */
export function apiErrorMessage(code: ErrorCode): string {
  return errorCatalog[code].message.zh;
}

const transportMessages: Record<TransportFailure, string> = {
  network: "网络连接失败，请检查网络后重试",
  timeout: "网络请求超时，请稍后重试",
  invalid_response: "服务器响应异常，请稍后重试",
};

/** What a phone button that gave no code says; the page then offers SMS where it can. */
export const phoneFailureMessages: Record<PhoneFailure["kind"], string> = {
  denied: "你未授权微信手机号",
  quota_exhausted: "微信手机号验证次数已达上限，请稍后再试",
  no_permission: "当前小程序无法使用微信手机号验证",
  privacy_not_authorized: "你未同意《隐私保护指引》，未获取微信手机号",
  outdated_wechat: "当前微信版本过低，无法使用微信手机号验证，请升级微信",
  failed: "获取手机号失败，请重试",
};

/**
 * The catalog speaks of login codes; during registration and rebinding the code the API refused
 * was the phone code, and the way forward is another tap on the phone button.
 */
const phoneCodeMessages: Partial<Record<ErrorCode, string>> = {
  WECHAT_CODE_INVALID: "手机号验证已失效，请再次点击按钮",
  WECHAT_CODE_USED: "手机号验证已失效，请再次点击按钮",
};

/** What an avatar upload's refusals mean for the image the user picked, and what to pick instead. */
const avatarMessages: Partial<Record<ErrorCode, string>> = {
  VALIDATION_FAILED: "头像需为 JPG、PNG 或 WebP 格式的图片，请重新选择",
  PAYLOAD_TOO_LARGE: `头像图片不能超过 ${contract.uploadAvatar.upload.maxBytes / 1024 / 1024} MB，请重新选择`,
};

/** The SMS form: what to fix in what was typed, and a registration ticket that ran out. */
const smsMessages: Partial<Record<ErrorCode, string>> = {
  VALIDATION_FAILED: "请输入正确的手机号和 6 位验证码",
  REGISTRATION_TICKET_INVALID: "注册已过期，请重新获取验证码",
};

const contextMessages = { phone: phoneCodeMessages, avatar: avatarMessages, sms: smsMessages };

export function describeFailure(
  error: unknown,
  context: "login" | "phone" | "avatar" | "sms" = "login",
): FailureNotice {
  if (error instanceof ApiError) {
    const contextMessage = context === "login" ? undefined : contextMessages[context][error.code];
    return {
      message: contextMessage ?? apiErrorMessage(error.code),
      retryable: contextMessage !== undefined || error.retryable,
    };
  }
  if (error instanceof TransportError) {
    return { message: transportMessages[error.failure], retryable: true };
  }
  if (error instanceof WechatLoginError) {
    return { message: "微信登录失败，请重试", retryable: true };
  }
  return { message: "出了点问题，请重试", retryable: true };
}
