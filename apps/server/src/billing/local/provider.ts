import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../errors.js';
import type { BillingProvider, ProviderSubscription } from '../ports.js';
import type { LocalBillingState } from './state.js';

/**
 * The billing provider used without STRIPE_SECRET_KEY outside production. Its Checkout and Portal
 * URLs point at pages on this server; the session is encoded (and HMAC'd) in the URL. The same input
 * gives the same URL (like a Stripe idempotent retry) until the account pays: a paid link works once,
 * and the next checkout gets a new one.
 */
interface LocalCheckoutSession {
  accountId: string;
  customerId: string;
  planId: string | null;
  price: { lookupKey: string };
  features: string[];
  successUrl: string;
  cancelUrl: string;
  /** The account's paid checkouts when this one was created: a new session after each payment. */
  attempt: number;
}

export interface LocalPortalSession {
  customerId: string;
  returnUrl: string;
}

/** What a link opens. Each page accepts only its own kind, so one kind of link never opens as another. */
export type LocalLinkKind = 'checkout' | 'portal';
interface LinkKinds {
  checkout: LocalCheckoutSession;
  portal: LocalPortalSession;
}

export type Decoded<K extends LocalLinkKind> = { ok: true; value: LinkKinds[K] } | { ok: false; reason: 'invalid' } | { ok: false; reason: 'wrong_kind'; kind: string };

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

export class LocalTokenCodec {
  /** `key` resolves to the signing secret (kept in the store; see LocalBillingState.linkKey). */
  constructor(private readonly key: () => Promise<string>) {}

  async encode<K extends LocalLinkKind>(kind: K, value: LinkKinds[K]): Promise<string> {
    const body = b64({ kind, ...value });
    return `${body}.${await this.sign(body)}`;
  }

  async decode<K extends LocalLinkKind>(kind: K, token: string): Promise<Decoded<K>> {
    const [body, signature, extra] = token.split('.');
    if (!body || !signature || extra !== undefined) return { ok: false, reason: 'invalid' };
    const expected = Buffer.from(await this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'invalid' };
    let parsed: { kind?: unknown } & Record<string, unknown>;
    try {
      parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as typeof parsed;
    } catch {
      return { ok: false, reason: 'invalid' };
    }
    if (parsed.kind !== kind) return { ok: false, reason: 'wrong_kind', kind: String(parsed.kind) };
    const { kind: _kind, ...value } = parsed;
    return { ok: true, value: value as unknown as LinkKinds[K] };
  }

  private async sign(body: string): Promise<string> {
    return createHmac('sha256', await this.key()).update(body).digest('base64url').slice(0, 32);
  }
}

export const localId = (prefix: string, ...parts: string[]) =>
  `${prefix}_local_${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 24)}`;

/** The Checkout session id of a local checkout link. */
export const localSessionId = (token: string) => localId('cs', token);

export class LocalBillingProvider implements BillingProvider {
  readonly name = 'local' as const;

  constructor(
    private readonly publicBaseUrl: string,
    readonly codec: LocalTokenCodec,
    private readonly state: LocalBillingState,
  ) {}

  async createCustomer({ accountId }: { accountId: string }) {
    return { customerId: localId('cus', accountId) };
  }

  async createCheckoutSession(input: Parameters<BillingProvider['createCheckoutSession']>[0]) {
    // Local prices are the catalog's lookup keys; the billing service turns a known one into
    // `{ lookupKey }`. Any other price id does not exist here, and Stripe refuses an unknown price too.
    if (!('lookupKey' in input.price)) {
      throw new AppError('UNKNOWN_PLAN', `There is no price "${input.price.id}": use a plan from billing.plans, or one of its prices' lookup keys`, {
        details: { priceId: input.price.id },
      });
    }
    const session: LocalCheckoutSession = { ...input, price: { lookupKey: input.price.lookupKey }, attempt: await this.state.paidCount(input.accountId) };
    const token = await this.codec.encode('checkout', session);
    return { id: localSessionId(token), url: `${this.publicBaseUrl}/local-billing/checkout/${token}` };
  }

  async createPortalSession(input: LocalPortalSession) {
    const token = await this.codec.encode('portal', { customerId: input.customerId, returnUrl: input.returnUrl });
    return { url: `${this.publicBaseUrl}/local-billing/portal/${token}` };
  }

  /** Local state already lives in our store; there is nothing fresher to read. */
  async retrieveSubscription(): Promise<ProviderSubscription | null> {
    return null;
  }
}
