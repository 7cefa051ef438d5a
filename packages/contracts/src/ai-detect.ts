import { z } from 'zod';

/** Image types Sightengine accepts (sniffed from the bytes, never trusted from a header). */
export const SUPPORTED_IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/bmp', 'image/tiff', 'image/avif', 'image/heic'] as const;
export const supportedImageTypeSchema = z.enum(SUPPORTED_IMAGE_TYPES);

export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

/** How long the server remembers an idempotency key: a retry within it is answered, not charged, again. */
export const IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 60 * 60;

/**
 * A check's idempotency key (as Stripe's `Idempotency-Key`): 1–255 printable ASCII characters, e.g. a
 * UUID made once per logical check and sent again on its retries. Within 24 h the same account, key and
 * image are charged once and answered the same verdict again; the same key with another image is refused
 * (IDEMPOTENCY_KEY_REUSED). Keys belong to one account: other accounts' keys never collide with it.
 */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be 1–255 printable ASCII characters without spaces');

export const aiDetectCheckInputSchema = z.union([
  z.object({
    url: z.url({ protocol: /^https?$/, error: (issue) => (issue.input === undefined ? 'required' : 'must be an http(s) URL') }).max(4096),
    /** Same key, same URL: charged once (the URL, not its content, is what a retry must repeat). */
    idempotencyKey: idempotencyKeySchema.optional(),
  }),
  z.object({
    /** Base64 (standard or URL-safe) image bytes, at most 10 MB decoded. */
    image: z.string().min(1).max(Math.ceil((MAX_IMAGE_BYTES * 4) / 3) + 4),
    mimeType: supportedImageTypeSchema,
    /** Same key, same bytes (whatever their base64 spelling): charged once. */
    idempotencyKey: idempotencyKeySchema.optional(),
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
  /**
   * Present (true) only on a retry with an idempotency key that was answered before: this is the first
   * answer again, word for word (its `requestId` is the charged request's), and nothing was charged.
   */
  replayed: z.literal(true).optional(),
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
