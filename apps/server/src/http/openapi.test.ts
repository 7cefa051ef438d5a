import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '../testing/harness.js';
import { buildOpenApiDocument } from './openapi.js';

describe('GET /openapi.json', () => {
  let app: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(() => app.shutdown());

  it('serves an OpenAPI 3.1 document of the REST aliases and the webhook', async () => {
    const res = await fetch(`${app.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = (await res.json()) as { openapi: string; info: { version: string }; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('0.0.0-test');
    expect(Object.fromEntries(Object.entries(doc.paths).map(([path, ops]) => [path, Object.keys(ops)]))).toEqual({
      '/create-checkout-session': ['post'],
      '/create-portal-session': ['post'],
      '/subscription-status': ['get'],
      '/ai-detect': ['post'],
      '/webhook': ['post'],
    });
  });
});

describe('the OpenAPI document', () => {
  const doc = buildOpenApiDocument({ version: '1.2.3' }) as {
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref?: string } }> }; responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }>>;
    components: { schemas: Record<string, Record<string, unknown>> };
  };

  it('takes its schemas from the zod contracts', () => {
    const checkout = doc.components.schemas.CreateCheckoutSessionInput!;
    expect(checkout).toMatchObject({ type: 'object', required: expect.arrayContaining(['successUrl', 'cancelUrl']) });
    expect(Object.keys(checkout.properties as object).sort()).toEqual(['cancelUrl', 'feature', 'plan', 'priceId', 'successUrl']);
    const status = doc.components.schemas.SubscriptionStatus!;
    expect((status.properties as { status: { enum: string[] } }).status.enum).toContain('past_due');
    expect((doc.components.schemas.Error!.properties as { error: { required: string[] } }).error.required).toEqual(['code', 'message', 'requestId']);
  });

  it('documents the Idempotency-Key header, the replay header and the 409 of POST /ai-detect only', () => {
    const check = doc.paths['/ai-detect']!.post as unknown as { parameters: { name: string; in: string }[]; responses: Record<string, { headers?: Record<string, unknown> }> };
    expect(check.parameters).toEqual([expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false })]);
    expect(Object.keys(check.responses['200']!.headers!)).toEqual(['Idempotent-Replayed']);
    expect(check.responses['409']).toBeDefined();
    expect(doc.paths['/create-checkout-session']!.post).not.toHaveProperty('parameters');
  });

  it('only refers to schemas it defines', () => {
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/\w+/g) ?? [];
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of new Set(refs)) expect(doc.components.schemas).toHaveProperty(ref.split('/').at(-1)!);
  });
});
