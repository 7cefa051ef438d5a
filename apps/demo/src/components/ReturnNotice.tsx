import { useQuery } from '@tanstack/react-query';
import { useVerifieddit } from '@verifieddit/client/react';
import { isEntitled } from '../billing.js';

/** What the demo's /billing/success and /billing/cancel pages say above the cards. */
export function ReturnNotice({ kind }: { kind: 'success' | 'cancel' }) {
  const api = useVerifieddit();
  const status = useQuery(api.billing.subscriptionStatus.queryOptions());
  return (
    <section className={`notice ${kind}`} role="status">
      {kind === 'success' ? (
        <>
          <h1>Thanks — payment received</h1>
          <p>
            {isEntitled(status.data)
              ? `Your ${status.data?.plan ?? ''} subscription is active.`
              : 'Waiting for the billing provider to confirm it; this page updates by itself.'}
          </p>
        </>
      ) : (
        <>
          <h1>Checkout canceled</h1>
          <p>Nothing was charged. You can subscribe whenever you like.</p>
        </>
      )}
      <a href="/">Back to the demo</a>
    </section>
  );
}
