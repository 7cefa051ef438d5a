import { z } from 'zod';

/** Image types Sightengine accepts (sniffed from the bytes, never trusted from a header). */
export const SUPPORTED_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/bmp', 'image/tiff', 'image/avif', 'image/heic'] as const;
export const supportedImageTypeSchema = z.enum(SUPPORTED_IMAGE_TYPES);

export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

export const aiDetectCheckInputSchema = z.union([
  z.object({ url: z.url({ protocol: /^https?$/, error: (issue) => (issue.input === undefined ? 'required' : 'must be an http(s) URL') }).max(4096) }),
  z.object({
    /** Base64 (standard or URL-safe) image bytes, at most 10 MB decoded. */
    image: z.string().min(1).max(Math.ceil((MAX_IMAGE_BYTES * 4) / 3) + 4),
    mimeType: supportedImageTypeSchema,
  }),
]);
export type AiDetectCheckInput = z.infer<typeof aiDetectCheckInputSchema>;

export const aiDetectCheckOutputSchema = z.object({
  aiGenerated: z.number().min(0).max(1),
  generators: z.record(z.string(), z.number().min(0).max(1)).optional(),
  imageSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /**
   * True only when this account checked the same image before and gets that same verdict again.
   * A verdict the server already had from another account's check is answered as a fresh check
   * (`cached: false`): an answer never reveals that someone else checked an image.
   */
  cached: z.boolean(),
  provider: z.enum(['sightengine', 'local']),
  requestId: z.string(),
  /** ISO 8601: when this account first got this verdict (its first check of the image, or this one). */
  checkedAt: z.string(),
});
export type AiDetectCheckOutput = z.infer<typeof aiDetectCheckOutputSchema>;

export const aiDetectUsageOutputSchema = z.object({
  used: z.number().int().nonnegative(),
  limit: z.number().int().nonnegative(),
  /** ISO 8601: start of next month (UTC). */
  resetsAt: z.string(),
  rateLimit: z.object({
    limit: z.number().int(),
    remaining: z.number().int(),
    /** Seconds until a new request is allowed, 0 when one is allowed now. */
    retryAfterSeconds: z.number().nonnegative(),
  }),
});
export type AiDetectUsageOutput = z.infer<typeof aiDetectUsageOutputSchema>;
