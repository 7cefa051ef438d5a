import { useMutation, useQuery } from '@tanstack/react-query';
import { getErrorCode } from '@verifieddit/client';
import { useVerifieddit } from '@verifieddit/client/react';
import { demoUrl, isEntitled } from '../billing.js';
import { usePortalSession } from '../hooks/usePortalSession.js';
import { ErrorLine } from './ErrorLine.js';

export function PlansCard() {
  const api = useVerifieddit();
  const plans = useQuery(api.billing.plans.queryOptions());
  const status = useQuery(api.billing.subscriptionStatus.queryOptions());
  const portal = usePortalSession();
  const checkout = useMutation(
    api.billing.createCheckoutSession.mutationOptions({
      // Same tab: Checkout sends the browser back to /billing/success or /billing/cancel.
      onSuccess: ({ url }) => window.location.assign(url),
      onError: (error) => {
        if (getErrorCode(error) === 'ALREADY_SUBSCRIBED') portal.mutate({ returnUrl: demoUrl('/') });
      },
    }),
  );

  return (
    <section className="card" aria-labelledby="plans-title">
      <h2 id="plans-title">Plans</h2>
      {plans.isPending && <p className="muted">Loading…</p>}
      {plans.isError && <ErrorLine error={plans.error} />}
      <ul className="plans">
        {plans.data?.plans.map((plan) => {
          const price = plan.prices[0];
          const current = isEntitled(status.data) && status.data?.plan === plan.id;
          return (
            <li key={plan.id}>
              <div>
                <strong>{plan.name}</strong>{' '}
                <span className="muted">
                  {price ? `${formatMoney(price.amount, price.currency)} / ${price.interval}` : 'free'} ·{' '}
                  {plan.quotas.aiDetectionsPerMonth} detections a month
                </span>
              </div>
              {current ? (
                <span className="badge on">current</span>
              ) : price ? (
                <button
                  className="primary"
                  disabled={checkout.isPending}
                  onClick={() => checkout.mutate({ plan: plan.id, successUrl: demoUrl('/billing/success?session={CHECKOUT_SESSION_ID}'), cancelUrl: demoUrl('/billing/cancel') })}
                >
                  Subscribe to {plan.name}
                </button>
              ) : null}
            </li>
          );
        })}
      </ul>
      {checkout.isError && getErrorCode(checkout.error) !== 'ALREADY_SUBSCRIBED' && <ErrorLine error={checkout.error} />}
    </section>
  );
}

function formatMoney(amount: number, currency: string): string {
  return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency.toUpperCase() }).format(amount / 100);
}
