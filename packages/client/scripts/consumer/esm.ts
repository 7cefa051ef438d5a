// A frontend's use of the SDK, type-checked against the packed tarball.
import { createClient, getErrorCode, isApiError, type ErrorCode, type VerifiedditClient } from '@verifieddit/client';

const client: VerifiedditClient = createClient({ url: 'https://api.verifieddit.com', getToken: async () => 'token' });

export async function probes(): Promise<void> {
  const status = await client.billing.subscriptionStatus.query();
  const plan: string | null = status.plan;
  const features: string[] = status.features;
  void plan;
  void features;

  const session = await client.billing.createCheckoutSession.mutate({ plan: 'pro', successUrl: 'https://a.example/ok', cancelUrl: 'https://a.example/no' });
  const url: string = session.url;
  void url;

  // @ts-expect-error outputs are typed, not any: status is a string union, not a number
  const wrong: number = status.status;
  void wrong;

  // @ts-expect-error inputs are typed: successUrl must be a string
  await client.billing.createCheckoutSession.mutate({ successUrl: 42, cancelUrl: 'https://a.example/no' });

  // @ts-expect-error unknown procedures do not exist
  await client.billing.refundEverything.mutate();

  try {
    await client.billing.createPortalSession.mutate({ returnUrl: 'https://a.example' });
  } catch (error) {
    const code: ErrorCode | undefined = getErrorCode(error);
    if (isApiError(error) && code === 'UNAUTHENTICATED') return;
    // @ts-expect-error codes are the contract's union, not any string
    if (code === 'NOT_A_REAL_CODE') return;
  }
}
