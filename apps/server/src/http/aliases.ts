import type { AnyTRPCProcedure } from '@trpc/server';
import type { Request } from 'express';
import { appRouter, type AppRouter } from '../routers/index.js';
import type { ProcedureMeta } from '../trpc.js';
import { isTrpcRequest, trpcPathOf } from './errors.js';

/** Every procedure's dotted path (`billing.subscriptionStatus`), from the router's own record. */
type PathsOf<R, Prefix extends string = ''> = {
  [K in keyof R & string]: R[K] extends AnyTRPCProcedure ? `${Prefix}${K}` : PathsOf<R[K], `${Prefix}${K}.`>;
}[keyof R & string];
export type ProcedurePath = PathsOf<AppRouter['_def']['record']>;

export interface RestAlias {
  /** GET for a query, POST for a mutation (the call is refused otherwise). */
  method: 'get' | 'post';
  path: `/${string}`;
  /** The tRPC procedure the alias calls: same auth, same schemas, same body limit. */
  procedure: ProcedurePath;
  /**
   * The procedure takes an `idempotencyKey` input: the alias also reads it from the `Idempotency-Key`
   * header, as Stripe's API does, and answers a replay with `Idempotent-Replayed: true` (rest-aliases.ts).
   */
  idempotencyKeyHeader?: true;
  openApi: {
    operationId: string;
    summary: string;
    description: string;
    /** Component names for the procedure's input and output schemas. */
    inputSchema?: string;
    outputSchema: string;
    outputDescription: string;
    /** Answers beyond the common errors, by status. */
    errors?: Record<string, string>;
  };
}

/** The classic REST paths existing callers use: the routes, the OpenAPI paths and the body limits come from here. */
export const REST_ALIASES: readonly RestAlias[] = [
  {
    method: 'post',
    path: '/create-checkout-session',
    procedure: 'billing.createCheckoutSession',
    openApi: {
      operationId: 'createCheckoutSession',
      summary: 'Start a Stripe Checkout session for the signed-in account',
      description: 'Give a `plan` or a `priceId`, not both. Redirect URLs must be on an allowed origin.',
      inputSchema: 'CreateCheckoutSessionInput',
      outputSchema: 'CheckoutSession',
      outputDescription: 'The session; send the browser to `url`',
    },
  },
  {
    method: 'post',
    path: '/create-portal-session',
    procedure: 'billing.createPortalSession',
    openApi: {
      operationId: 'createPortalSession',
      summary: 'Open the Stripe customer portal for the signed-in account',
      description: '',
      inputSchema: 'CreatePortalSessionInput',
      outputSchema: 'PortalSession',
      outputDescription: 'Send the browser to `url`',
    },
  },
  {
    method: 'get',
    path: '/subscription-status',
    procedure: 'billing.subscriptionStatus',
    openApi: {
      operationId: 'subscriptionStatus',
      summary: "The signed-in account's subscription and features",
      description: '`status` is `none` for an account that never subscribed.',
      outputSchema: 'SubscriptionStatus',
      outputDescription: 'The current state',
    },
  },
  {
    method: 'post',
    path: '/ai-detect',
    procedure: 'aiDetect.check',
    idempotencyKeyHeader: true,
    openApi: {
      operationId: 'aiDetect',
      summary: 'Score how likely an image is AI-generated',
      description:
        'Send an http(s) `url`, or base64 `image` bytes with their `mimeType` (at most 10 MB). Counts against the monthly quota. With an `Idempotency-Key` header (or `idempotencyKey` in the body), a retry of the same check within 24 h is charged once and answered the same, with `Idempotent-Replayed: true` (see docs/ai-detection.md).',
      inputSchema: 'AiDetectCheckInput',
      outputSchema: 'AiDetectCheckOutput',
      outputDescription: 'The verdict',
      errors: {
        '402': 'No plan with the `ai-detect` feature, or the monthly quota is used up',
        '409': 'The idempotency key was used in the last 24 h for another image or URL (`IDEMPOTENCY_KEY_REUSED`)',
      },
    },
  },
];

/** The procedure at a dotted path; own keys only, so `constructor` or `__proto__` find nothing. */
export function procedureAt(path: string): AnyTRPCProcedure | undefined {
  // Flat at run time (`billing.plans`), though typed as the nested record.
  const procedures = appRouter._def.procedures as unknown as Record<string, AnyTRPCProcedure>;
  return Object.hasOwn(procedures, path) ? procedures[path] : undefined;
}

/** A procedure's body limit: its own `bodyLimit` meta when larger than the default. */
export function procedureBodyLimit(path: string, defaultLimit: number): number {
  const meta = procedureAt(path)?._def.meta as ProcedureMeta | undefined;
  return Math.max(meta?.bodyLimit ?? 0, defaultLimit);
}

/**
 * The body limit of a request: a POST to tRPC gets the largest limit among the procedures it calls
 * (a batch names several, `a.b,c.d`, URL-encoded as tRPC reads it); a REST alias gets its procedure's.
 */
export function bodyLimitOf(req: Request, defaultLimit: number): number {
  if (req.method !== 'POST') return defaultLimit;
  if (isTrpcRequest(req)) {
    let paths: string[];
    try {
      paths = decodeURIComponent(trpcPathOf(req) ?? '').split(',');
    } catch {
      return defaultLimit; // tRPC refuses a malformed path itself
    }
    return Math.max(defaultLimit, ...paths.map((path) => procedureBodyLimit(path, defaultLimit)));
  }
  // Express routes ignore case and a trailing slash, so the lookup does too.
  const path = req.path.toLowerCase().replace(/(.)\/$/, '$1');
  const alias = REST_ALIASES.find((a) => a.method === 'post' && a.path === path);
  return alias ? procedureBodyLimit(alias.procedure, defaultLimit) : defaultLimit;
}
