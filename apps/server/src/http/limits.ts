/** Body limits in bytes, counted after decompression. Procedures may raise theirs with `.meta({ bodyLimit })`. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
/** Image uploads arrive base64-encoded: 10 MB of bytes is about 13.4 MB of JSON. */
export const IMAGE_BODY_LIMIT = 14 * 1024 * 1024;

/** `14 MB`, or `1024 byte` below a megabyte, as the 413 message and the OpenAPI document say it. */
export function describeLimit(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MB` : `${bytes} byte`;
}
