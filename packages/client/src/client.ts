import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import type { AppRouter } from '@verifieddit/server';
import { readableResponses } from './responses.js';

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
}

export type VerifiedditClient = TRPCClient<AppRouter>;

export function trpcUrlOf(url: string): string {
  const base = url.replace(/\/+$/, '');
  return base.endsWith('/trpc') ? base : `${base}/trpc`;
}

/** A typed client for the verifieddit API: every procedure's input and output are inferred. */
export function createClient(options: ClientOptions): VerifiedditClient {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: trpcUrlOf(options.url),
        // Every answer, whoever sent it (the API, a proxy, a wrong URL), becomes one tRPC can read.
        fetch: readableResponses(options.fetch ?? ((input, init) => globalThis.fetch(input, init))),
        async headers() {
          const extra = typeof options.headers === 'function' ? await options.headers() : (options.headers ?? {});
          const token = options.getToken ? await options.getToken() : undefined;
          return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
        },
      }),
    ],
  });
}
