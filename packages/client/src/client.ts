import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, type TRPCClient } from '@trpc/client';
import type { SubscriptionStatusOutput } from '@verifieddit/contracts';
import type { AppRouter } from '@verifieddit/server';
import { subscribeStatus, type StatusSubscription, type SubscribeStatusOptions } from './live.js';
import { readableResponses } from './responses.js';
import { checkRetryLinks, type CheckRetryOptions } from './retries.js';

export type { AppRouter };

export interface ClientOptions {
  /** The API origin, e.g. `https://api.verifieddit.com` (the client adds `/trpc`). */
  url: string;
  /** Returns the caller's Clerk session token (e.g. `() => session.getToken()`); called per request. */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** A fetch implementation, for runtimes without a global one or for tests. */
  fetch?: typeof globalThis.fetch;
  /** Extra headers sent with every request. */
  headers?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  /**
   * The EventSource used for live subscriptions (`subscribeStatus`, `billing.onStatusChange`); the
   * browser's by default. On Node, pass the `eventsource` package's.
   */
  EventSource?: unknown;
  /**
   * Retries of `aiDetect.check` after a network error, a timeout or a 5xx: each call gets an
   * idempotency key (unless its input has one) that its retries send again, so the server charges it
   * once and answers a retry with the first answer (`replayed: true`). Default: 2 retries.
   */
  aiDetectCheck?: CheckRetryOptions;
}

export type VerifiedditClient = TRPCClient<AppRouter> & {
  /** Live subscription status: the current one first, then every change (see `subscribeStatus`). */
  subscribeStatus(onChange: (status: SubscriptionStatusOutput) => void, options?: SubscribeStatusOptions): StatusSubscription;
};

export function trpcUrlOf(url: string): string {
  const base = url.replace(/\/+$/, '');
  return base.endsWith('/trpc') ? base : `${base}/trpc`;
}

/** A typed client for the verifieddit API: every procedure's input and output are inferred. */
export function createClient(options: ClientOptions): VerifiedditClient {
  const url = trpcUrlOf(options.url);
  const trpc = createTRPCClient<AppRouter>({
    links: [
      ...checkRetryLinks(options.aiDetectCheck),
      splitLink({
        condition: (op) => op.type === 'subscription',
        // Server-sent events: a browser's EventSource cannot send headers, so the token travels in
        // tRPC's connectionParams, fetched again on every (re)connection.
        true: httpSubscriptionLink({
          url,
          ...(options.EventSource ? { EventSource: options.EventSource as typeof globalThis.EventSource } : {}),
          connectionParams: async () => {
            const token = options.getToken ? await options.getToken() : undefined;
            return token ? { token } : {};
          },
        }),
        false: httpBatchLink({
        url,
        // Every answer, whoever sent it (the API, a proxy, a wrong URL), becomes one tRPC can read.
        fetch: readableResponses(options.fetch ?? ((input, init) => globalThis.fetch(input, init))),
        async headers() {
          const extra = typeof options.headers === 'function' ? await options.headers() : (options.headers ?? {});
          const token = options.getToken ? await options.getToken() : undefined;
          return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
        },
        }),
      }),
    ],
  });
  const subscribe: VerifiedditClient['subscribeStatus'] = (onChange, subscribeOptions) => subscribeStatus(trpc, onChange, subscribeOptions);
  // tRPC's client is a proxy that turns every property into a procedure path; answer this one name first.
  return new Proxy(trpc, { get: (target, key, receiver) => (key === 'subscribeStatus' ? subscribe : Reflect.get(target, key, receiver)) }) as VerifiedditClient;
}
