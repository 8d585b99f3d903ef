import { z } from "zod";
import type { ContentCheckDetail } from "./types.js";

/** Content checks are version 2 of WeChat's content-security API (version 1 stopped in 2021). */
export const CONTENT_CHECK_VERSION = 2;

export const SuggestSchema = z.enum(["pass", "review", "risky"]);

/**
 * An integer WeChat sends as a number or as a string of digits: `label` is documented as a number,
 * yet its pushes carry `"label": "100"` (and some pushes `"version": "2"`).
 */
export const IntegerSchema = z.union([
  z.number().int(),
  z
    .string()
    .regex(/^\d{1,15}$/)
    .transform(Number),
]);
export const LabelSchema = IntegerSchema;

/**
 * One entry of `detail`. It only explains the verdict, so a field of an unexpected shape reads as
 * absent rather than failing a check whose `result` is fine.
 */
const DetailSchema = z
  .object({
    strategy: z.string().catch(""),
    errcode: z.number().int().catch(0),
    suggest: SuggestSchema.optional().catch(undefined),
    label: LabelSchema.optional().catch(undefined),
    prob: z.number().optional().catch(undefined),
    keyword: z.string().optional().catch(undefined),
  })
  .transform((entry): ContentCheckDetail => ({
    strategy: entry.strategy,
    errcode: entry.errcode,
    suggest: entry.suggest ?? null,
    label: entry.label ?? null,
    prob: entry.prob ?? null,
    keyword: entry.keyword ?? null,
  }));

/** The verdict of a content check, in msg_sec_check's reply and in the wxa_media_check push. */
export const ContentCheckResultSchema = z.object({ suggest: SuggestSchema, label: LabelSchema });
export const ContentCheckDetailsSchema = z.array(DetailSchema);
