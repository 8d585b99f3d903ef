/*
 * Helpers for the content-check and message-push suites: uploading an avatar as wx.uploadFile
 * does, reading security events from captured logs, and waiting for an asynchronous outcome (a
 * media check's verdict arrives as a push some time after the upload).
 */
import { UserSchema, type User } from "@wxauth/contracts";
import type { TestApi } from "./harness.js";
import { solidPng } from "./png.js";

/** POST /api/me/avatar with a small PNG, as wx.uploadFile sends it; the user it answers. */
export async function uploadAvatar(api: TestApi, accessToken: string): Promise<User> {
  const form = new FormData();
  form.append("file", new Blob([solidPng(2, 2, [7, 193, 96])]), "tmp_avatar.png");
  const response = await fetch(`${api.url}/api/me/avatar`, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}` },
    body: form,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`upload: ${response.status} ${text}`);
  return UserSchema.parse(JSON.parse(text));
}

/** The security events of one name the API logged (it must run with `captureLogs`). */
export function securityEvents(api: TestApi, event: string): Array<Record<string, unknown>> {
  return api.logs
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.event === event);
}

/** Resolves once `check` resolves true; fails after `timeoutMs` naming `what`. */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
