import { METHOD_OVERRIDE_HEADER, type HttpMethod } from "@wxauth/contracts";
import type { Send } from "./client";
import { TransportError } from "./errors";

export const REQUEST_TIMEOUT_MS = 15_000;

/** A uni `fail` callback's errMsg as the TransportError it means. */
export function transportErrorOf(failure: { errMsg: string }): TransportError {
  return new TransportError(
    /timeout/i.test(failure.errMsg) ? "timeout" : "network",
    failure.errMsg,
  );
}

// uni-h5 sends PATCH (its HTTP_METHODS list has it) although uni's typings copy wx.request's list.
type WireMethod = UniApp.RequestOptions["method"];

function wireRequest(
  method: HttpMethod,
  header: Record<string, string>,
): { method: WireMethod; header: Record<string, string> } {
  // #ifdef MP-WEIXIN
  // wx.request has no PATCH (its methods are OPTIONS, GET, HEAD, POST, PUT, DELETE, TRACE, CONNECT).
  if (method === "PATCH") {
    return { method: "POST", header: { ...header, [METHOD_OVERRIDE_HEADER]: method } };
  }
  // #endif
  return { method: method as WireMethod, header };
}

/** Sends through uni.request: wx.request in the mini program, XMLHttpRequest in H5. */
export const uniSend: Send = ({ url, method, header, data }) =>
  new Promise((resolve, reject) => {
    uni.request({
      url,
      ...wireRequest(method, header),
      ...(data !== undefined ? { data: data as UniApp.RequestOptions["data"] } : {}),
      timeout: REQUEST_TIMEOUT_MS,
      dataType: "json",
      success: (response) => resolve({ statusCode: response.statusCode, data: response.data }),
      fail: (failure) => reject(transportErrorOf(failure)),
    });
  });
