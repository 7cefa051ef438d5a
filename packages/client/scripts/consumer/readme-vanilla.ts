// The README's vanilla snippet, type-checked against the packed SDK.
import { createClient, getErrorCode } from '@verifieddit/client';

declare const clerk: { session: { getToken(): Promise<string | null> } | null };

const api = createClient({
  url: 'https://api.verifieddit.com',
  getToken: () => clerk.session?.getToken(),
});

export async function showPlan(): Promise<string> {
  const { status, plan, features, currentPeriodEnd } = await api.billing.subscriptionStatus.query();
  return `${status} ${plan ?? 'free'} [${features.join(', ')}] until ${currentPeriodEnd ?? '-'}`;
}

export async function upgrade(): Promise<void> {
  try {
    const { url } = await api.billing.createCheckoutSession.mutate({
      plan: 'pro',
      successUrl: 'https://verifieddit.com/billing/success',
      cancelUrl: 'https://verifieddit.com/billing',
    });
    window.location.assign(url);
  } catch (error) {
    switch (getErrorCode(error)) {
      case 'ALREADY_SUBSCRIBED': {
        const { url } = await api.billing.createPortalSession.mutate({ returnUrl: 'https://verifieddit.com/billing' });
        window.location.assign(url);
        return;
      }
      case 'UNAUTHENTICATED':
        window.location.assign('/sign-in');
        return;
      default:
        throw error;
    }
  }
}
