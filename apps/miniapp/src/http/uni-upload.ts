import type { SendFile } from "./client";
import { REQUEST_TIMEOUT_MS, transportErrorOf } from "./uni-send";

/** uploadFile hands the body over as text whatever it is; JSON is parsed, anything else kept. */
function parseBody(text: unknown): unknown {
  if (typeof text !== "string" || text === "") return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Uploads through uni.uploadFile: wx.uploadFile in the mini program (the one way it can send a
 * local file), XMLHttpRequest with FormData in H5. Both send multipart/form-data.
 */
export const uniUpload: SendFile = ({ url, header, filePath, field }) =>
  new Promise((resolve, reject) => {
    uni.uploadFile({
      url,
      filePath,
      name: field,
      header,
      timeout: REQUEST_TIMEOUT_MS,
      success: (response) =>
        resolve({ statusCode: response.statusCode, data: parseBody(response.data) }),
      fail: (failure) => reject(transportErrorOf(failure)),
    });
  });
