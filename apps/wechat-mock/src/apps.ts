import { createHash } from "node:crypto";
import {
  SANDBOX_APPID,
  SANDBOX_SECOND_APPID,
  SANDBOX_SECOND_SECRET,
  SANDBOX_SECRET,
  type SandboxApp,
} from "@wxauth/contracts/sandbox";

/** The apps the sandbox knows when told none: two mini programs bound to one Open Platform account. */
export const DEFAULT_SANDBOX_APPS: readonly SandboxApp[] = [
  { appid: SANDBOX_APPID, secret: SANDBOX_SECRET, unionBound: true },
  { appid: SANDBOX_SECOND_APPID, secret: SANDBOX_SECOND_SECRET, unionBound: true },
];

export type PushSettings = Pick<SandboxApp, "pushUrl" | "pushToken" | "pushAesKey">;

/**
 * The mini programs the sandbox stands in for. The first is the default of every dev control that
 * takes an `appid`. Push settings can change at run time (`/__dev/push-config`); nothing else does.
 */
export class SandboxApps {
  private readonly byAppid: Map<string, SandboxApp>;
  /** The first app's appid. */
  readonly defaultAppid: string;

  constructor(apps: readonly SandboxApp[]) {
    const [first] = apps;
    if (first === undefined) throw new Error("the sandbox needs at least one app");
    this.defaultAppid = first.appid;
    this.byAppid = new Map(apps.map((app) => [app.appid, { ...app }]));
    if (this.byAppid.size !== apps.length) throw new Error("the sandbox's apps repeat an appid");
  }

  get(appid: string): SandboxApp | undefined {
    return this.byAppid.get(appid);
  }

  /** `appid`'s app, or the first app when `appid` is undefined. */
  resolve(appid: string | undefined): SandboxApp | undefined {
    return this.byAppid.get(appid ?? this.defaultAppid);
  }

  list(): SandboxApp[] {
    return [...this.byAppid.values()];
  }

  /** Replaces the app's push settings (an absent one is unset). False when no such app. */
  configurePush(appid: string, settings: PushSettings): boolean {
    const app = this.byAppid.get(appid);
    if (app === undefined) return false;
    const { pushUrl, pushToken, pushAesKey } = settings;
    this.byAppid.set(appid, { ...app, pushUrl, pushToken, pushAesKey });
    return true;
  }
}

/** The app's original id (`gh_…`), which WeChat puts in a push's ToUserName. */
export function originalIdOf(appid: string): string {
  return `gh_${createHash("sha1").update(appid).digest("hex").slice(0, 12)}`;
}
