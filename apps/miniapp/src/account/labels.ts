import type { Device } from "@wxauth/contracts";

/** "iPhone 15 · iOS 17.0": what a user recognises their phone by. */
export function deviceLabel(device: Device): string {
  const parts = [device.model, device.system].filter(Boolean);
  if (parts.length > 0) return parts.join(" · ");
  return device.platform || "未知设备";
}

/** "7 天", "36 小时", "30 分钟": a wait of `seconds`, in the largest whole unit. */
export function formatDuration(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} 天`;
  if (seconds % 3_600 === 0) return `${seconds / 3_600} 小时`;
  return `${Math.max(1, Math.floor(seconds / 60))} 分钟`;
}

const twoDigits = (value: number) => String(value).padStart(2, "0");

/** "2026年12月11日 14:05" in the phone's time zone. */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  const day = `${date.getFullYear()}年${date.getMonth() + 1}月${date.getDate()}日`;
  return `${day} ${twoDigits(date.getHours())}:${twoDigits(date.getMinutes())}`;
}
