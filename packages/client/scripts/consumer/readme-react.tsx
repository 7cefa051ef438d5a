// The README's React snippet, type-checked against the packed SDK.
import { QueryClient, QueryClientProvider, useMutation, useQuery } from '@tanstack/react-query';
import { createClient, getErrorCode } from '@verifieddit/client';
import { VerifiedditProvider, useVerifieddit } from '@verifieddit/client/react';
import { useState, type ReactNode } from 'react';

declare function useAuth(): { getToken(): Promise<string | null> };

export function ApiProvider({ children }: { children: ReactNode }) {
  const { getToken } = useAuth();
  const [queryClient] = useState(() => new QueryClient());
  const [trpcClient] = useState(() => createClient({ url: 'https://api.verifieddit.com', getToken }));
  return (
    <QueryClientProvider client={queryClient}>
      <VerifiedditProvider trpcClient={trpcClient} queryClient={queryClient}>
        {children}
      </VerifiedditProvider>
    </QueryClientProvider>
  );
}

export function BillingBadge() {
  const api = useVerifieddit();
  const status = useQuery(api.billing.subscriptionStatus.queryOptions());
  const checkout = useMutation(api.billing.createCheckoutSession.mutationOptions({ onSuccess: ({ url }) => window.location.assign(url) }));
  if (status.isPending) return <span>…</span>;
  if (status.isError) return <span>{getErrorCode(status.error) ?? 'error'}</span>;
  if (status.data.features.includes('ai-detect')) return <span>Pro until {status.data.currentPeriodEnd}</span>;
  return (
    <button onClick={() => checkout.mutate({ plan: 'pro', successUrl: 'https://verifieddit.com/ok', cancelUrl: 'https://verifieddit.com/billing' })}>
      Upgrade
    </button>
  );
}

export function Probes() {
  const api = useVerifieddit();
  // @ts-expect-error inputs are typed through the React integration: plan must be a string
  useMutation(api.billing.createCheckoutSession.mutationOptions()).mutate({ plan: 1, successUrl: 'x', cancelUrl: 'y' });
  // @ts-expect-error unknown procedures do not exist
  useQuery(api.billing.refundEverything.queryOptions());
  const usage = useQuery(api.aiDetect.usage.queryOptions());
  // @ts-expect-error outputs are typed: used is a number
  const wrong: string | undefined = usage.data?.used;
  return <>{wrong}</>;
}
