import type { Device } from "@wxauth/contracts";

/** "iPhone 15 · iOS 17.0": what a user recognises their phone by. */
export function deviceLabel(device: Device): string {
  const parts = [device.model, device.system].filter(Boolean);
  if (parts.length > 0) return parts.join(" · ");
  return device.platform || "未知设备";
}

const twoDigits = (value: number) => String(value).padStart(2, "0");

/** "2026年12月11日 14:05" in the phone's time zone. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  const day = `${date.getFullYear()}年${date.getMonth() + 1}月${date.getDate()}日`;
  return `${day} ${twoDigits(date.getHours())}:${twoDigits(date.getMinutes())}`;
}
