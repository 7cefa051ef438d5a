import Stripe from 'stripe';

export interface StripeClientOptions {
  secretKey: string;
  apiVersion: string;
  /** e.g. http://127.0.0.1:12111 to talk to a double. */
  apiBaseUrl?: string | undefined;
  maxNetworkRetries?: number;
  timeoutMs?: number;
}

/** The one place a Stripe client is configured: pinned API version, bounded retries and timeouts. */
export function createStripeClient(options: StripeClientOptions): Stripe {
  const base = options.apiBaseUrl ? new URL(options.apiBaseUrl) : undefined;
  return new Stripe(options.secretKey, {
    apiVersion: options.apiVersion as Stripe.LatestApiVersion,
    maxNetworkRetries: options.maxNetworkRetries ?? 2,
    timeout: options.timeoutMs ?? 20_000,
    telemetry: false,
    appInfo: { name: 'verifieddit-billing' },
    ...(base
      ? {
          host: base.hostname,
          port: Number(base.port || (base.protocol === 'https:' ? 443 : 80)),
          protocol: base.protocol === 'https:' ? 'https' : 'http',
        }
      : {}),
  });
}

export type { Stripe };
