import { useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { subscribeStatus } from './live.js';
import { createTRPCContext, createTRPCOptionsProxy, type TRPCOptionsProxy } from '@trpc/tanstack-react-query';
import type { TRPCClient } from '@trpc/client';
import type { AppRouter } from '@verifieddit/server';
import { createClient, type ClientOptions } from './client.js';

/**
 * TanStack Query for the verifieddit API through tRPC's own integration (`@trpc/tanstack-react-query`):
 *
 *   const client = createClient({ url, getToken: () => clerk.session?.getToken() });
 *   <QueryClientProvider client={queryClient}>
 *     <VerifiedditProvider trpcClient={client} queryClient={queryClient}>…
 *   const api = useVerifieddit();
 *   const status = useQuery(api.billing.subscriptionStatus.queryOptions());
 */
const context = createTRPCContext<AppRouter>();

export type VerifiedditOptionsProxy = TRPCOptionsProxy<AppRouter>;

type VerifiedditContext = ReturnType<typeof createTRPCContext<AppRouter>>;

/** Provides the client and query client to `useVerifieddit()`: props `{ trpcClient, queryClient, children }`. */
export const VerifiedditProvider: VerifiedditContext['TRPCProvider'] = context.TRPCProvider;

/** Typed `queryOptions()` / `mutationOptions()` / `queryKey()` for every procedure, inside the provider. */
export const useVerifieddit: () => VerifiedditOptionsProxy = context.useTRPC;

/** The plain client from the provider, for imperative calls. */
export const useVerifiedditClient: () => TRPCClient<AppRouter> = context.useTRPCClient;

/** The same options proxy without React context: route loaders, prefetching, tests. */
export function createVerifiedditQueryOptions(options: ClientOptions & { queryClient: QueryClient }): VerifiedditOptionsProxy {
  const { queryClient, ...clientOptions } = options;
  return createTRPCOptionsProxy<AppRouter>({ client: createClient(clientOptions), queryClient });
}

export { createClient, type ClientOptions };

/**
 * `billing.subscriptionStatus` as a TanStack query kept live: while mounted, the status stream
 * (`billing.onStatusChange`, SSE) writes every change into the query cache, so every component
 * reading the status re-renders when a subscription changes, on any tab or server.
 */
export function useLiveSubscriptionStatus() {
  const api = useVerifieddit();
  const client = useVerifiedditClient();
  const queryClient = useQueryClient();
  const queryKey = api.billing.subscriptionStatus.queryKey();
  const keyText = JSON.stringify(queryKey);
  useEffect(() => {
    const live = subscribeStatus(client, (status) => queryClient.setQueryData(queryKey, status));
    return () => live.unsubscribe();
    // keyText, not queryKey: the key is compared by value, and a new array each render is the same key.
  }, [client, queryClient, keyText]);
  return useQuery(api.billing.subscriptionStatus.queryOptions());
}
