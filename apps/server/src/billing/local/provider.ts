import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { BillingProvider, ProviderSubscription } from '../ports.js';

/**
 * The billing provider used without STRIPE_SECRET_KEY outside production. Its Checkout and Portal
 * URLs point at pages on this server and are deterministic: the session is encoded (and HMAC'd) in
 * the URL, so the same input always gives the same URL and nothing needs storing until payment.
 */
export interface LocalCheckoutSession {
  accountId: string;
  customerId: string;
  planId: string | null;
  price: { id: string } | { lookupKey: string };
  features: string[];
  successUrl: string;
  cancelUrl: string;
}

export interface LocalPortalSession {
  customerId: string;
  returnUrl: string;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export class LocalTokenCodec {
  constructor(private readonly key: string) {}

  encode(value: object): string {
    const body = b64(value);
    return `${body}.${this.sign(body)}`;
  }

  decode<T>(token: string): T | undefined {
    const [body, signature] = token.split('.');
    if (!body || !signature) return undefined;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
    } catch {
      return undefined;
    }
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url').slice(0, 32);
  }
}

export const localId = (prefix: string, ...parts: string[]) =>
  `${prefix}_local_${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 24)}`;

export class LocalBillingProvider implements BillingProvider {
  readonly name = 'local' as const;

  constructor(
    private readonly publicBaseUrl: string,
    readonly codec: LocalTokenCodec,
  ) {}

  async createCustomer({ accountId }: { accountId: string }) {
    return { customerId: localId('cus', accountId) };
  }

  async createCheckoutSession(input: LocalCheckoutSession) {
    const token = this.codec.encode({ ...input } satisfies LocalCheckoutSession);
    return { id: localId('cs', token), url: `${this.publicBaseUrl}/local-billing/checkout/${token}` };
  }

  async createPortalSession(input: LocalPortalSession) {
    return { url: `${this.publicBaseUrl}/local-billing/portal/${this.codec.encode({ ...input } satisfies LocalPortalSession)}` };
  }

  /** Local state already lives in our store; there is nothing fresher to read. */
  async retrieveSubscription(): Promise<ProviderSubscription | null> {
    return null;
  }
}
