import { useQuery } from '@tanstack/react-query';
import { useVerifieddit } from '@verifieddit/client/react';
import { demoUrl, isEntitled, type SubscriptionStatus } from '../billing.js';
import { usePortalSession } from '../hooks/usePortalSession.js';
import { useLiveStatus } from '../live.js';
import { ErrorLine } from './ErrorLine.js';

export function SubscriptionCard({ userId, waitForActive }: { userId: string; waitForActive: boolean }) {
  const api = useVerifieddit();
  const live = useLiveStatus(userId);
  const status = useQuery({
    ...api.billing.subscriptionStatus.queryOptions(),
    // With Stripe the webhook can land a moment after the redirect: poll briefly on the success page.
    refetchInterval: (query) => (waitForActive && live !== 'live' && !isEntitled(query.state.data) ? 1_000 : false),
  });
  const portal = usePortalSession();

  return (
    <section className="card" aria-labelledby="subscription-title">
      <h2 id="subscription-title">
        Subscription{' '}
        <span className={`live ${live}`} data-testid="live-state" title="billing.onStatusChange">
          {live === 'live' ? '● live' : live === 'connecting' ? '○ connecting…' : '○ refreshes on focus'}
        </span>
      </h2>
      {status.isPending && <p className="muted">Loading…</p>}
      {status.isError && <ErrorLine error={status.error} />}
      {status.data && (
        <>
          <p>
            <span className={`badge ${isEntitled(status.data) ? 'on' : 'off'}`} data-testid="subscription-status">
              {status.data.status}
            </span>{' '}
            {status.data.plan ? <>plan <strong>{status.data.plan}</strong></> : <span className="muted">free plan</span>}
          </p>
          <p className="muted">
            Features: {status.data.features.join(', ') || 'none'}
            {status.data.currentPeriodEnd &&
              ` · ${periodWord(status.data)} ${new Date(status.data.currentPeriodEnd).toLocaleDateString()}`}
          </p>
          {status.data.provider && (
            <button onClick={() => portal.mutate({ returnUrl: demoUrl('/') })} disabled={portal.isPending}>
              Manage billing
            </button>
          )}
          {portal.isError && <ErrorLine error={portal.error} />}
        </>
      )}
    </section>
  );
}

function periodWord(status: SubscriptionStatus): string {
  if (!isEntitled(status)) return 'paid until';
  return status.cancelAtPeriodEnd ? 'ends' : 'renews';
}
