import { z } from "zod";

/**
 * Turns off zod's `new Function` fast path. WeChat's mini program runtime forbids dynamic code,
 * so the mini program calls this once at launch, before any schema parses.
 */
export function useJitlessValidation(): void {
  z.config({ jitless: true });
}
