import { useQueryClient } from '@tanstack/react-query';
import { createTRPCClient, httpSubscriptionLink } from '@trpc/client';
import type { AppRouter } from '@verifieddit/client';
import { useVerifieddit } from '@verifieddit/client/react';
import { useEffect, useState } from 'react';
import { currentUser, tokenFor } from './session.js';

export type LiveState = 'connecting' | 'live' | 'off';

/**
 * Live subscription status: `billing.onStatusChange` streams the current status, then every change
 * (a payment, a cancel in the Portal, a webhook), over SSE. Each event lands in the same query cache
 * entry `billing.subscriptionStatus` fills, so every component shows it at once. A browser's
 * EventSource cannot send headers, so the token travels in tRPC's connectionParams. If the stream is
 * off, the query still refetches when the window regains focus.
 */
export function useLiveStatus(userId: string): LiveState {
  const api = useVerifieddit();
  const queryClient = useQueryClient();
  const [state, setState] = useState<LiveState>('connecting');

  useEffect(() => {
    const client = createTRPCClient<AppRouter>({
      links: [httpSubscriptionLink({ url: `${window.location.origin}/trpc`, connectionParams: () => ({ token: tokenFor(currentUser()) ?? '' }) })],
    });
    const subscription = client.billing.onStatusChange.subscribe(undefined, {
      onData: (event) => {
        queryClient.setQueryData(api.billing.subscriptionStatus.queryKey(), event.data);
        // The plan decides the detection quota: the meter's limit moves with the status.
        void queryClient.invalidateQueries({ queryKey: api.aiDetect.usage.queryKey() });
        setState('live');
      },
      onError: () => setState('off'),
      onConnectionStateChange: (connection) => {
        if (connection.state === 'connecting') setState('connecting');
      },
    });
    return () => subscription.unsubscribe();
  }, [userId, api, queryClient]);

  return state;
}
