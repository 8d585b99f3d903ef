import { isBaseLibraryAtLeast, PHONE_CODE_MIN_BASE_LIBRARY } from "./phone";

/**
 * Whether the phone button can give a phone code here, known before any tap: in WeChat, base
 * libraries before 2.21.2 give only encryptedData (and those before 2.20.1 lack getAppBaseInfo
 * too); in H5 the dev sheet always can.
 */
export function phoneButtonSupported(): boolean {
  let supported = true;
  // #ifdef MP-WEIXIN
  supported =
    uni.canIUse("getAppBaseInfo") &&
    isBaseLibraryAtLeast(uni.getAppBaseInfo().SDKVersion, PHONE_CODE_MIN_BASE_LIBRARY);
  // #endif
  return supported;
}
