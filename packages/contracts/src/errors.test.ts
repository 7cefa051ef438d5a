import { describe, expect, it } from 'vitest';
import { ERROR_CODES, errorBodySchema, httpStatusOf, isErrorCode } from './errors.js';

describe('error codes', () => {
  it('maps every code to an HTTP error status', () => {
    for (const code of ERROR_CODES) {
      const status = httpStatusOf(code);
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
    }
  });

  it('recognises only published codes', () => {
    expect(isErrorCode('NO_CUSTOMER')).toBe(true);
    expect(isErrorCode('no_customer')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(42)).toBe(false);
  });

  it('rejects an error body with an unknown code', () => {
    const body = { error: { code: 'SOMETHING_ELSE', message: 'x', requestId: 'r' } };
    expect(errorBodySchema.safeParse(body).success).toBe(false);
  });
});
