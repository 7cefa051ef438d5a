import {
  aiDetectCheckInputSchema,
  aiDetectCheckOutputSchema,
  checkoutSessionOutputSchema,
  createCheckoutSessionInputSchema,
  createPortalSessionInputSchema,
  errorBodySchema,
  portalSessionOutputSchema,
  subscriptionStatusOutputSchema,
} from '@verifieddit/contracts';
import type { RequestHandler } from 'express';
import { z } from 'zod';

/**
 * The OpenAPI 3.1 description of the plain-HTTP surface (the REST aliases and the Stripe webhook).
 * Handwritten paths; every schema comes from the zod contracts, so it cannot drift from validation.
 * The typed API under /trpc is documented by the SDK's types, not here.
 */

const schema = (zodSchema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _ignored, ...json } = z.toJSONSchema(zodSchema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return json;
};
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ content: { 'application/json': { schema: ref(name) } } });
const error = (description: string) => ({ description, ...json('Error') });

const bearer = [{ bearerAuth: [] }];
const commonErrors = {
  '400': error('The body failed validation (`VALIDATION_FAILED`); `error.message` names every bad field'),
  '401': error('No valid session token (`UNAUTHENTICATED`)'),
  '413': error('Body over 1 MB, or 14 MB on `/ai-detect`, counted after decompression (`PAYLOAD_TOO_LARGE`)'),
  '415': error('Body not `application/json` (UTF-8), or an unsupported `Content-Encoding` (`UNSUPPORTED_CONTENT_TYPE`)'),
  '429': error('Too many requests (`RATE_LIMITED`); wait `Retry-After` seconds'),
  '500': error('Unexpected failure (`INTERNAL`); quote `error.requestId`'),
};

export function buildOpenApiDocument(options: { version: string; serverUrl?: string }): Record<string, unknown> {
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
      '/create-checkout-session': {
        post: {
          operationId: 'createCheckoutSession',
          summary: 'Start a Stripe Checkout session for the signed-in account',
          description: 'Alias of `billing.createCheckoutSession`. Give a `plan` or a `priceId`, not both. Redirect URLs must be on an allowed origin.',
          security: bearer,
          requestBody: { required: true, ...json('CreateCheckoutSessionInput') },
          responses: { '200': { description: 'The session; send the browser to `url`', ...json('CheckoutSession') }, ...commonErrors },
        },
      },
      '/create-portal-session': {
        post: {
          operationId: 'createPortalSession',
          summary: 'Open the Stripe customer portal for the signed-in account',
          description: 'Alias of `billing.createPortalSession`.',
          security: bearer,
          requestBody: { required: true, ...json('CreatePortalSessionInput') },
          responses: { '200': { description: 'Send the browser to `url`', ...json('PortalSession') }, ...commonErrors },
        },
      },
      '/subscription-status': {
        get: {
          operationId: 'subscriptionStatus',
          summary: "The signed-in account's subscription and features",
          description: 'Alias of `billing.subscriptionStatus`. `status` is `none` for an account that never subscribed.',
          security: bearer,
          responses: { '200': { description: 'The current state', ...json('SubscriptionStatus') }, ...commonErrors },
        },
      },
      '/ai-detect': {
        post: {
          operationId: 'aiDetect',
          summary: 'Score how likely an image is AI-generated',
          description: 'Alias of `aiDetect.check`. Send an http(s) `url`, or base64 `image` bytes with their `mimeType` (at most 10 MB). Counts against the monthly quota.',
          security: bearer,
          requestBody: { required: true, ...json('AiDetectCheckInput') },
          responses: {
            '200': { description: 'The verdict', ...json('AiDetectCheckOutput') },
            '402': error('No plan with the `ai-detect` feature, or the monthly quota is used up'),
            ...commonErrors,
          },
        },
      },
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
        CreateCheckoutSessionInput: schema(createCheckoutSessionInputSchema, 'input'),
        CheckoutSession: schema(checkoutSessionOutputSchema, 'output'),
        CreatePortalSessionInput: schema(createPortalSessionInputSchema, 'input'),
        PortalSession: schema(portalSessionOutputSchema, 'output'),
        SubscriptionStatus: schema(subscriptionStatusOutputSchema, 'output'),
        AiDetectCheckInput: schema(aiDetectCheckInputSchema, 'input'),
        AiDetectCheckOutput: schema(aiDetectCheckOutputSchema, 'output'),
        Error: schema(errorBodySchema, 'output'),
      },
    },
  };
}

/** `GET /openapi.json`: built once, served as JSON. */
export function openApiRoute(options: { version: string }): RequestHandler {
  let body: string | undefined;
  return (_req, res) => {
    body ??= JSON.stringify(buildOpenApiDocument(options));
    res.type('application/json').send(body);
  };
}
