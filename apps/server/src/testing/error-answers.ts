import { errorBodySchema, trpcErrorEnvelopeSchema } from '@verifieddit/contracts';
import { expect } from 'vitest';
import type { RawResponse } from './raw-http.js';

/** Asserts a REST error answer in the documented shape, carrying the request id; returns the error. */
export const expectRest = (res: RawResponse, status: number, code: string, requestId?: string) => {
  expect(res.status, res.text).toBe(status);
  const body = errorBodySchema.parse(res.json);
  expect(body.error.code).toBe(code);
  expect(body.error.requestId).toBe(requestId ?? res.headers['x-request-id']);
  return body.error;
};

/** Asserts a tRPC error answer (single or the first of a batch) in the documented envelope; returns the error. */
export const expectTrpc = (res: RawResponse, status: number, code: string, requestId?: string) => {
  expect(res.status, res.text).toBe(status);
  const envelope = trpcErrorEnvelopeSchema.parse(Array.isArray(res.json) ? res.json[0] : res.json);
  expect(envelope.error.data.code).toBe(code);
  expect(envelope.error.data.httpStatus).toBe(status);
  expect(envelope.error.data.requestId).toBe(requestId ?? res.headers['x-request-id']);
  return envelope.error;
};
