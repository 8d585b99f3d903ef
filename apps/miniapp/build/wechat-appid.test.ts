import type { Rollup } from "vite";
import { describe, expect, it } from "vitest";
import { wechatAppidFromEnv } from "./wechat-appid";

type OutputAsset = Rollup.OutputAsset;
type OutputBundle = Rollup.OutputBundle;

function bundleWithProjectConfig(): OutputBundle {
  const asset = {
    type: "asset",
    fileName: "project.config.json",
    source: JSON.stringify({ appid: "touristappid", setting: { urlCheck: false } }),
  } as OutputAsset;
  return { "project.config.json": asset };
}

function run(appid: string | undefined): Record<string, unknown> {
  const bundle = bundleWithProjectConfig();
  const hook = wechatAppidFromEnv(appid).generateBundle as (
    options: unknown,
    bundle: OutputBundle,
  ) => void;
  hook({}, bundle);
  return JSON.parse(String((bundle["project.config.json"] as OutputAsset).source)) as Record<
    string,
    unknown
  >;
}

describe("project.config.json appid", () => {
  it("takes VITE_WECHAT_APPID and keeps the rest of the file", () => {
    expect(run("wx0123456789abcdef")).toEqual({
      appid: "wx0123456789abcdef",
      setting: { urlCheck: false },
    });
  });

  it("stays the tourist appid without one", () => {
    expect(run(undefined)).toMatchObject({ appid: "touristappid" });
  });
});
