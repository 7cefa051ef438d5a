// Type probes for the React entry: each expected error fails the check if the types degrade to `any`.
import { useMutation, useQuery } from '@tanstack/react-query';
import { useVerifieddit } from '@verifieddit/client/react';

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
