import { adminErrorCatalog } from "@wxauth/contracts/admin";
import { AdminApiError } from "./http/client";

const dateTime = new Intl.DateTimeFormat("zh-CN", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

/** A contract timestamp as operators read it: Beijing time, `2026/12/07 18:00:00`. */
export function formatDateTime(iso: string | null): string {
  return iso ? dateTime.format(new Date(iso)) : "—";
}

/** What the console says about a failed request: the catalogue's Chinese message when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof AdminApiError) {
    return `${adminErrorCatalog[error.code].message.zh}（${error.code}）`;
  }
  return "无法连接服务器，请稍后重试";
}

export const statusLabels = {
  active: "正常",
  banned: "已封禁",
  deletion_scheduled: "待注销",
} as const;

export const statusThemes = {
  active: "success",
  banned: "danger",
  deletion_scheduled: "warning",
} as const;
