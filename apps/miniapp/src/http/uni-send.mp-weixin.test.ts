import { createPinia, setActivePinia } from "pinia";
import { beforeEach, expect, it } from "vitest";
import { api } from "../api";
import { useAuthStore } from "../stores/auth";
import { installFakeUni, type FakeUni } from "../testing/fake-uni";
import { me, session } from "../testing/fixtures";

let uni: FakeUni;
beforeEach(() => {
  uni = installFakeUni(() => ({ statusCode: 200, data: { ...me, nickname: "小明" } }));
  setActivePinia(createPinia());
  useAuthStore().startSession(session());
});

it("sends PATCH as POST with X-HTTP-Method-Override, since wx.request has no PATCH", async () => {
  await expect(api.updateMe({ nickname: "小明" })).resolves.toMatchObject({ nickname: "小明" });
  expect(uni.requests[0]).toMatchObject({
    method: "POST",
    header: { "x-http-method-override": "PATCH", authorization: "Bearer access-token-1" },
    data: { nickname: "小明" },
  });
});

it("sends the other methods unchanged", async () => {
  uni.script = () => ({ statusCode: 200, data: me });
  await api.getMe();
  expect(uni.requests[0]?.method).toBe("GET");
  uni.script = () => ({ statusCode: 204, data: "" });
  await api.revokeAllSessions();
  expect(uni.requests[1]).toMatchObject({ method: "DELETE" });
  expect(uni.requests[1]?.header["x-http-method-override"]).toBeUndefined();
});
