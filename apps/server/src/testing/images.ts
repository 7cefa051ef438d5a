import { createHash } from 'node:crypto';

/** A valid 1×1 PNG. */
export const PNG_1X1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==',
  'base64',
);

/** A distinct, still-sniffable PNG per seed: the PNG with trailing bytes after IEND (decoders ignore them). */
export function pngVariant(seed: number | string): Buffer {
  return Buffer.concat([PNG_1X1, Buffer.from(`variant:${seed}`)]);
}

export const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
