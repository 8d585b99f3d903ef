// #ifdef H5
import { sandboxSmsCode } from "./dev/sandbox";
// #endif

/**
 * The code of the SMS just sent to `phone` when something other than the user can read it: in H5
 * the sandbox's outbox, so a browser session needs no phone; in WeChat never.
 */
export function readSentSmsCode(phone: string): Promise<string | undefined> {
  let code = Promise.resolve<string | undefined>(undefined);
  // #ifdef H5
  code = sandboxSmsCode(phone);
  // #endif
  return code;
}
