import { errorBodySchema, idempotencyKeySchema } from '@verifieddit/contracts';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { procedureAt, procedureBodyLimit, REST_ALIASES, type RestAlias } from './aliases.js';
import { DEFAULT_BODY_LIMIT, describeLimit } from './limits.js';

/**
 * The OpenAPI 3.1 description of the plain-HTTP surface: the REST aliases, from their table, and the
 * Stripe webhook. Every alias schema is its procedure's own zod parser, so it cannot drift from
 * validation. The typed API under /trpc is documented by the SDK's types, not here.
 */

const schema = (zodSchema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _ignored, ...json } = z.toJSONSchema(zodSchema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ content: { 'application/json': { schema: ref(name) } } });
const error = (description: string) => ({ description, ...json('Error') });

const bearer = [{ bearerAuth: [] }];
const commonErrors = (bodyLimit: number) => ({
  '400': error('The body failed validation (`VALIDATION_FAILED`); `error.message` names every bad field'),
  '401': error('No valid session token (`UNAUTHENTICATED`)'),
  '413': error(`Body over ${describeLimit(bodyLimit)}, counted after decompression (\`PAYLOAD_TOO_LARGE\`)`),
  '415': error('Body not `application/json` (UTF-8), or an unsupported `Content-Encoding` (`UNSUPPORTED_CONTENT_TYPE`)'),
  '429': error('Too many requests (`RATE_LIMITED`); wait `Retry-After` seconds'),
  '500': error('Unexpected failure (`INTERNAL`); quote `error.requestId`'),
});

const IDEMPOTENCY_KEY_PARAMETER = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  schema: schema(idempotencyKeySchema, 'input'),
  description: 'Same as `idempotencyKey` in the body (give one, or both alike): a retry with the same key and request within 24 h is answered, not charged, again',
};

/** A procedure's input and output parsers, which are the zod contracts it validates with. */
function parsersOf(alias: RestAlias): { input: z.ZodType | undefined; output: z.ZodType } {
  const def = procedureAt(alias.procedure)?._def as { inputs?: unknown[]; output?: unknown } | undefined;
  const [input] = def?.inputs ?? [];
  if (!(def?.output instanceof z.ZodType) || (input !== undefined && !(input instanceof z.ZodType)))
    throw new Error(`${alias.procedure}: the OpenAPI document needs zod input and output schemas`);
  return { input: input as z.ZodType | undefined, output: def.output };
}

function aliasOperation(alias: RestAlias, defaultBodyLimit: number) {
  const { openApi } = alias;
  return {
    [alias.method]: {
      operationId: openApi.operationId,
      summary: openApi.summary,
      description: `Alias of \`${alias.procedure}\`.${openApi.description ? ` ${openApi.description}` : ''}`,
      security: bearer,
      ...(alias.idempotencyKeyHeader ? { parameters: [IDEMPOTENCY_KEY_PARAMETER] } : {}),
      ...(openApi.inputSchema ? { requestBody: { required: true, ...json(openApi.inputSchema) } } : {}),
      responses: {
        '200': {
          description: openApi.outputDescription,
          ...(alias.idempotencyKeyHeader ? { headers: { 'Idempotent-Replayed': { description: '`true` when this is the answer of an earlier request with the same key (nothing charged)', schema: { const: 'true' } } } } : {}),
          ...json(openApi.outputSchema),
        },
        ...Object.fromEntries(Object.entries(openApi.errors ?? {}).map(([status, text]) => [status, error(text)])),
        ...commonErrors(procedureBodyLimit(alias.procedure, defaultBodyLimit)),
      },
    },
  };
}

function aliasSchemas(): Record<string, Record<string, unknown>> {
  const schemas: Record<string, Record<string, unknown>> = {};
  for (const alias of REST_ALIASES) {
    const { input, output } = parsersOf(alias);
    if (alias.openApi.inputSchema && input) schemas[alias.openApi.inputSchema] = schema(input, 'input');
    schemas[alias.openApi.outputSchema] = schema(output, 'output');
  }
  return schemas;
}

export function buildOpenApiDocument(options: { version: string; serverUrl?: string; defaultBodyLimit?: number }): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'verifieddit billing and AI detection (REST aliases)',
      version: options.version,
      description:
        'Plain-HTTP aliases of the typed tRPC API (`/trpc/*`, used through `@verifieddit/client`) and the Stripe webhook. Every error has the body `{ "error": { "code", "message", "requestId" } }` and every response carries `x-request-id`. Every code is listed in docs/errors.md.',
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    paths: {
      ...Object.fromEntries(REST_ALIASES.map((alias) => [alias.path, aliasOperation(alias, options.defaultBodyLimit ?? DEFAULT_BODY_LIMIT)])),
      '/webhook': {
        post: {
          operationId: 'stripeWebhook',
          summary: 'Stripe webhook endpoint',
          description:
            'For Stripe only. The raw body is verified against the `Stripe-Signature` header with the endpoint signing secret(s). Events are stored once by id and processed in order; duplicates answer 200. Unhandled event types are acknowledged and ignored.',
          parameters: [{ name: 'Stripe-Signature', in: 'header', required: true, schema: { type: 'string' }, description: '`t=…,v1=…` as Stripe sends it' }],
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['id', 'object', 'type', 'created', 'data'],
                  properties: {
                    id: { type: 'string', pattern: '^evt_' },
                    object: { const: 'event' },
                    type: { type: 'string', examples: ['checkout.session.completed', 'customer.subscription.updated'] },
                    api_version: { type: ['string', 'null'] },
                    created: { type: 'integer' },
                    data: { type: 'object', properties: { object: { type: 'object' }, previous_attributes: { type: 'object' } } },
                  },
                },
              },
            },
          },
          responses: {
            '200': { description: 'Accepted (stored, processed, a duplicate, or an ignored type)', content: { 'application/json': { schema: { type: 'object', properties: { received: { type: 'boolean' } } } } } },
            '400': error('Missing or invalid signature, or not a Stripe event'),
            '500': error('Stored but not processed yet; Stripe retries'),
          },
        },
      },
    },
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A Clerk session token' } },
      schemas: {
        ...aliasSchemas(),
        Error: schema(errorBodySchema, 'output'),
      },
    },
  };
}

/** `GET /openapi.json`: built once, served as JSON. */
export function openApiRoute(options: { version: string; defaultBodyLimit?: number }): RequestHandler {
  let body: string | undefined;
  return (_req, res) => {
    body ??= JSON.stringify(buildOpenApiDocument(options));
    res.type('application/json').send(body);
  };
}
