import type { Device } from "@wxauth/contracts";

/** The contract's limit for each device field. */
const DEVICE_FIELD_MAX_LENGTH = 64;

/**
 * The device this sign-in comes from, as uni.getDeviceInfo reports it (uni falls back to
 * getSystemInfoSync on WeChat versions without it), for the user's list of sessions. It never
 * fails a sign-in: a field that is missing or too long is left out or cut to the contract's limit.
 */
export function currentDevice(): Device {
  let info: Partial<Record<keyof Device, unknown>>;
  try {
    info = uni.getDeviceInfo();
  } catch {
    return {};
  }
  const device: Device = {};
  for (const field of ["platform", "model", "system"] as const) {
    const value = info[field];
    if (typeof value === "string" && value.trim() !== "") {
      device[field] = value.trim().slice(0, DEVICE_FIELD_MAX_LENGTH);
    }
  }
  return device;
}
