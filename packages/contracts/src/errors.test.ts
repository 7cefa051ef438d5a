import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type * as plain from './error-codes.js';
import {
  ERROR_CODES,
  errorBodySchema,
  httpStatusOf,
  isErrorCode,
  type ErrorBody,
  type errorIssueSchema,
  type TrpcErrorData,
  type TrpcErrorEnvelope,
} from './errors.js';

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

  it('describes the error shapes without zod exactly as the schemas do (checked by the type checker)', () => {
    expectTypeOf<plain.ErrorBody>().toEqualTypeOf<ErrorBody>();
    expectTypeOf<plain.ErrorIssue>().toEqualTypeOf<z.infer<typeof errorIssueSchema>>();
    expectTypeOf<plain.TrpcErrorData>().toEqualTypeOf<TrpcErrorData>();
    expectTypeOf<plain.TrpcErrorEnvelope>().toEqualTypeOf<TrpcErrorEnvelope>();
  });
});
