import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so equal parameters always hash alike. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The part of an idempotency key that stands for the request's parameters: a hash of every parameter
 * sent. Stripe refuses a key reused with different parameters, so a key must change whenever they do.
 */
export const paramsDigest = (params: unknown) => createHash('sha256').update(canonical(params)).digest('hex').slice(0, 32);
